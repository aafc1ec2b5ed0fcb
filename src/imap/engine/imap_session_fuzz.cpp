// Fuzzes whole IMAP sessions: the input is what a client sends, after an automatic LOGIN and
// SELECT, to the engine over a real store and accounts database holding a few varied messages
// (multipart, nested message/rfc822, encoded words, an 8-bit charset, broken MIME) in two
// mailboxes. Every input starts from the same copy of that data directory, so a finding
// replays from its input alone. Byte 0 picks the configuration, byte 1 the read size.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "accounts/directory.hpp"
#include "accounts/login_throttle.hpp"
#include "core/log.hpp"
#include "imap/engine/detail/session_harness.hpp"
#include "mime/serialize.hpp"
#include "mime/structure.hpp"
#include "mime/text.hpp"
#include "store/store.hpp"

namespace {

using namespace sov;  // NOLINT(google-build-using-namespace): fuzz target only
namespace fs = std::filesystem;

constexpr std::string_view kUser = "joe@example.test";
constexpr std::string_view kPassword = "pass word";

constexpr std::string_view kMessages[] = {
    "From: =?UTF-8?B?QW5uIMOFYmVyZw==?= <ann@example.org>\r\nTo: joe@example.test\r\n"
    "Subject: =?ISO-8859-1?Q?caf=E9?= plans\r\nDate: Mon, 2 Nov 2026 10:00:00 +0100\r\n"
    "Message-ID: <one@example.org>\r\n\r\nLunch at noon?\r\n",
    "From: Bob <bob@example.org>\r\nTo: joe@example.test, Ann <ann@example.org>\r\n"
    "Subject: report\r\nMessage-ID: <two@example.org>\r\nIn-Reply-To: <one@example.org>\r\n"
    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
    "preamble\r\n--b1\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n"
    "--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain text\r\n"
    "--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html</p>\r\n--b2--\r\n"
    "--b1\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\n"
    "Content-Disposition: attachment; filename=\"r.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcfs\r\n--b1\r\n"
    "Content-Type: message/rfc822\r\n\r\nFrom: inner@example.net\r\nSubject: inner\r\n"
    "Content-Type: multipart/mixed; boundary=\"in\"\r\n\r\n--in\r\n\r\ninner text\r\n--in--\r\n"
    "--b1--\r\nepilogue\r\n",
    "From: shop@example.com\r\nTo: joe@example.test\r\nSubject: Angebot\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe, =\r\nsoft break\r\n",
    "From: broken\r\nSubject: no end\r\nContent-Type: multipart/mixed; boundary=x\r\n"
    "Content-Transfer-Encoding: x-unknown\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\n"
    "never closed\r\n",
    "From: Zoë <zoe@example.org>\r\nTo: joe@example.test\r\nSubject: Grüße aus Köln\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    "Ümlaute im Text\r\n",
};

// What the template's session does after the messages are in: a second mailbox, flags,
// a deleted message left unexpunged.
constexpr std::string_view kTemplateCommands =
    "t1 LOGIN joe@example.test \"pass word\"\r\n"
    "t2 CREATE Archive/2026\r\n"
    "t3 SELECT INBOX\r\n"
    "t4 COPY 1:2 Archive/2026\r\n"
    "t5 STORE 1 +FLAGS (\\Seen $Label)\r\n"
    "t6 STORE 4 +FLAGS (\\Deleted)\r\n"
    "t7 LOGOUT\r\n";

store::StoreOptions store_options(const fs::path& dir) {
    store::StoreOptions so;
    so.data_dir = dir;
    so.structure_of = [](std::string_view b) { return mime::serialize(mime::parse_message(b)); };
    so.text_of = [](std::string_view b) {
        auto t = mime::folded_searchable_text(b);
        return store::IndexedText{.headers = std::move(t.headers), .body = std::move(t.body)};
    };
    so.sync_threads = 1;
    return so;
}

accounts::Directory::Options directory_options() {
    accounts::Directory::Options opts;
    opts.password = accounts::PasswordParams::minimum_for_test();
    return opts;
}

imap::SessionConfig session_config(bool tls) {
    imap::SessionConfig c;
    c.hostname = "mail.example.test";
    c.max_append = 16 * 1024;
    c.starttls_available = !tls;
    c.tls_active = tls;
    return c;
}

/// The data directories: the template, built once, and the copy each input works on. On tmpfs
/// where there is one, so that the store's fsyncs cost nothing.
struct Dirs {
    fs::path root;
    fs::path template_dir;
    fs::path work;
};

/// Removes the directories at exit (a crash leaves them for a look).
struct RemoveAtExit {
    fs::path root;
    explicit RemoveAtExit(fs::path r) : root(std::move(r)) {}
    RemoveAtExit(const RemoveAtExit&) = delete;
    RemoveAtExit& operator=(const RemoveAtExit&) = delete;
    ~RemoveAtExit() {
        std::error_code ec;
        fs::remove_all(root, ec);
    }
};

[[noreturn]] void fail(const char* what, const std::error_code& ec = {}) {
    std::fprintf(stderr, "imap_session_fuzz: %s: %s\n", what, ec.message().c_str());
    std::abort();
}

const Dirs& dirs() {
    static const Dirs d = [] {
        const fs::path base =
            fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
        log::configure(log::Level::Error, log::Format::Logfmt);  // a line per LOGIN is noise here
        Dirs out;
        out.root = base / ("sov-imap-fuzz-" + std::to_string(::getpid()));
        out.template_dir = out.root / "template";
        out.work = out.root / "work";
        fs::remove_all(out.root);
        fs::create_directories(out.template_dir);
        {
            auto directory =
                accounts::Directory::open(out.template_dir / "accounts.db", directory_options());
            if (!directory || !(*directory)->add_domain("example.test") ||
                !(*directory)->add_user(kUser, kPassword)) {
                fail("cannot create the accounts database");
            }
            auto store = store::Store::open(store_options(out.template_dir));
            if (!store) {
                fail("cannot create the store");
            }
            for (const auto message : kMessages) {
                auto in = (*store)->begin_message();
                if (!in || !in->append(message)) {
                    fail("cannot spool a message");
                }
                store::DeliveryRequest req;
                store::Recipient rcpt;
                rcpt.account = std::string(kUser);
                req.recipients.push_back(std::move(rcpt));
                if (!(*store)->deliver(std::move(*in), std::move(req)).at(0).delivered()) {
                    fail("cannot deliver a message");
                }
            }
            accounts::LoginThrottle throttle;
            imap::detail::SessionHarness setup(
                {.store = store->get(), .directory = directory->get(), .throttle = &throttle},
                session_config(true)
            );
            const auto answers = setup.send(kTemplateCommands);
            if (answers.find("t7 OK") == std::string::npos) {
                fail("the template session failed");
            }
        }  // closed: the copies below see complete files
        return out;
    }();
    static const RemoveAtExit cleanup{d.root};
    return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const Dirs& d = dirs();
    std::error_code ec;
    if (fs::remove_all(d.work, ec); ec) {
        fail("cannot remove the last input's data directory", ec);
    }
    if (fs::copy(d.template_dir, d.work, fs::copy_options::recursive, ec); ec) {
        fail("cannot copy the template data directory", ec);
    }

    const unsigned cfg = data[0];
    const bool tls = (cfg & 1U) == 0;           // else plaintext: LOGIN is refused
    const bool quick = (cfg & 2U) != 0;         // the I/O thread's quick path first
    const bool login = (cfg & 4U) == 0;         // else the input starts unauthenticated
    const bool select = (cfg & 8U) == 0;        // else it starts authenticated
    const bool read_only = (cfg & 16U) != 0;    // EXAMINE instead of SELECT
    const std::size_t read = 1 + data[1] % 64;  // bytes per feed, like TCP segments
    const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

    auto directory = accounts::Directory::open(d.work / "accounts.db", directory_options());
    auto store = store::Store::open(store_options(d.work));
    if (!directory || !store) {
        fail("cannot open the copied data directory");
    }
    accounts::LoginThrottle throttle;
    imap::wire::ParserLimits limits;
    limits.max_line = 4096;
    limits.max_literal = 4096;
    limits.max_command = 16 * 1024;
    limits.max_append = 16 * 1024;
    limits.max_discard = 64 * 1024;
    imap::detail::SessionHarness h(
        {.store = store->get(), .directory = directory->get(), .throttle = &throttle},
        session_config(tls),
        "192.0.2.1",
        limits
    );
    h.quick = quick;
    // SOV_FUZZ_ECHO=1 prints the server's side of the session (to study a finding).
    static const bool echo = std::getenv("SOV_FUZZ_ECHO") != nullptr;
    std::string answers;
    if (login) {
        answers += h.send("f1 LOGIN joe@example.test \"pass word\"\r\n");
        if (select) {
            answers += h.send(read_only ? "f2 EXAMINE INBOX\r\n" : "f2 SELECT INBOX\r\n");
        }
    }
    for (std::size_t pos = 0; pos < input.size() && !h.closed(); pos += read) {
        answers += h.send(input.substr(pos, read));
    }
    if (echo) {
        std::fwrite(answers.data(), 1, answers.size(), stderr);
    }
    if (h.quick_refusal_wrote) {
        fail("a command refused on the quick path wrote a response");
    }
    return 0;
}
