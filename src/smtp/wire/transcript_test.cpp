// Runs tests/transcripts/{smtp,lmtp}/*.txt against the engine (no sockets). The file syntax is
// described in tests/transcripts/smtp/README.md.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "smtp/wire/detail/session_harness.hpp"

namespace sov::smtp::wire {
namespace {

namespace fs = std::filesystem;

std::string unescape(std::string_view s) {
    std::string out;
    bool newline = true;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        const char c = s[++i];
        switch (c) {
            case 'r':
                out += '\r';
                break;
            case 'n':
                out += '\n';
                break;
            case 't':
                out += '\t';
                break;
            case '0':
                out += '\0';
                break;
            case 'c':
                newline = false;  // "\c" at the end: no CRLF
                break;
            case 'x':
                if (i + 2 < s.size()) {
                    out +=
                        static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
                    i += 2;
                }
                break;
            default:
                out += c;
        }
    }
    if (newline) {
        out += "\r\n";
    }
    return out;
}

Reply parse_reply(std::istringstream& in) {
    Reply r;
    in >> r.code >> r.enhanced;
    std::getline(in, r.text);
    if (!r.text.empty() && r.text.front() == ' ') {
        r.text.erase(0, 1);
    }
    return r;
}

struct Transcript {
    ServerConfig config;
    std::map<std::string, Reply> rcpt;
    std::map<std::string, Reply> deliver;
    std::map<std::string, Reply> sender;
    bool split = true;
    // Alternating client input / expected output segments, in file order.
    std::vector<std::pair<char, std::string>> segments;
    std::string bodies;
};

Transcript load(const fs::path& path) {
    Transcript t;
    t.config.hostname = "mx.example.org";
    t.config.limits.max_message_bytes = 1000000;
    std::ifstream file(path);
    std::string line;
    while (std::getline(file, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (line.empty() || line[0] == '#') {
            continue;
        }
        if (line.rfind("! ", 0) == 0) {
            std::istringstream in(line.substr(2));
            std::string what;
            in >> what;
            if (what == "config") {
                std::string kv;
                while (in >> kv) {
                    const auto eq = kv.find('=');
                    const auto k = kv.substr(0, eq);
                    const auto v = kv.substr(eq + 1);
                    auto& c = t.config;
                    const bool on = v == "1";
                    if (k == "protocol") {
                        c.protocol = v == "lmtp" ? Protocol::Lmtp : Protocol::Smtp;
                    } else if (k == "max_message_bytes") {
                        c.limits.max_message_bytes = std::stoull(v);
                    } else if (k == "max_recipients") {
                        c.limits.max_recipients = std::stoull(v);
                    } else if (k == "max_errors") {
                        c.limits.max_errors = static_cast<unsigned>(std::stoul(v));
                    } else if (k == "max_line") {
                        c.limits.command.max_line = std::stoull(v);
                    } else if (k == "tls") {
                        c.tls_available = on;
                    } else if (k == "bare_lf") {
                        c.bare_line_ending =
                            v == "reject" ? BareLineEnding::Reject : BareLineEnding::Normalize;
                    } else if (k == "chunking") {
                        c.chunking = on;
                    } else if (k == "binarymime") {
                        c.binarymime = on;
                    } else if (k == "dsn") {
                        c.dsn = on;
                    } else if (k == "verify_sender") {
                        c.verify_sender = on;
                    } else if (k == "require_tls") {
                        c.require_tls = on;
                    } else if (k == "tls_active") {
                        c.tls_active = on;
                    } else if (k == "auth") {
                        c.auth_available = on;
                    } else if (k == "require_auth") {
                        c.require_auth = on;
                    } else if (k == "require_tls_for_auth") {
                        c.require_tls_for_auth = on;
                    } else {
                        ADD_FAILURE() << path << ": unknown config key " << k;
                    }
                }
            } else if (what == "rcpt" || what == "deliver" || what == "sender") {
                std::string addr;
                in >> addr;
                auto& table = what == "rcpt" ? t.rcpt : what == "deliver" ? t.deliver : t.sender;
                table[addr] = parse_reply(in);
            } else if (what == "nosplit") {
                t.split = false;
            } else {
                ADD_FAILURE() << path << ": unknown directive " << line;
            }
            continue;
        }
        if (line.size() == 2 && line[1] == ':') {
            line += ' ';  // "C:" alone is an empty line
        }
        if (line.size() < 3 || line[1] != ':' || line[2] != ' ') {
            ADD_FAILURE() << path << ": bad line " << line;
            continue;
        }
        const char kind = line[0];
        const auto text = unescape(std::string_view(line).substr(3));
        if (kind == 'B') {
            t.bodies += text;
        } else if (kind == 'C' || kind == 'S') {
            if (t.segments.empty() || t.segments.back().first != kind) {
                t.segments.emplace_back(kind, std::string());
            }
            t.segments.back().second += text;
        } else {
            ADD_FAILURE() << path << ": bad line " << line;
        }
    }
    return t;
}

Reply lookup(const std::map<std::string, Reply>& table, const std::string& key, Reply fallback) {
    if (auto it = table.find(key); it != table.end()) {
        return it->second;
    }
    if (auto it = table.find("*"); it != table.end()) {
        return it->second;
    }
    return fallback;
}

void wire_verdicts(detail::SessionHarness& h, const Transcript& t) {
    h.rcpt_verdict = [&t](const Recipient& r) {
        return lookup(t.rcpt, r.path.to_string(), {250, "2.1.5", "Ok"});
    };
    h.sender_verdict = [&t](const Envelope& e) {
        return lookup(t.sender, e.reverse_path.to_string(), {250, "2.1.0", "Ok"});
    };
    h.delivery_verdict = [&t](const Envelope& e, std::string_view) {
        std::vector<Reply> out;
        for (const auto& r : e.recipients) {
            out.push_back(lookup(t.deliver, r.path.to_string(), {250, "2.0.0", "Ok"}));
        }
        if (out.empty()) {
            out.push_back({250, "2.0.0", "Ok"});
        }
        return out;
    };
}

class TranscriptTest : public testing::TestWithParam<fs::path> {};

TEST_P(TranscriptTest, Replays) {
    const auto t = load(GetParam());
    ASSERT_FALSE(t.segments.empty());
    detail::SessionHarness h(t.config);
    wire_verdicts(h, t);
    std::size_t checked = 0;
    std::string all_input;
    std::string all_output;
    for (const auto& [kind, text] : t.segments) {
        if (kind == 'C') {
            h.feed(text);
            all_input += text;
            continue;
        }
        all_output += text;
        ASSERT_EQ(h.output().substr(checked, text.size()), text)
            << "after " << all_input.size() << " client bytes";
        checked += text.size();
    }
    EXPECT_EQ(h.output().substr(checked), "") << "unexpected server output";
    std::string bodies;
    for (const auto& m : h.delivered()) {
        bodies += m.body;
    }
    EXPECT_EQ(bodies, t.bodies);
    if (!t.split) {
        return;
    }
    // The same session with the client bytes split at every offset (Beast parsegrind).
    for (std::size_t split = 1; split < all_input.size(); ++split) {
        detail::SessionHarness s(t.config);
        wire_verdicts(s, t);
        s.feed(std::string_view(all_input).substr(0, split));
        s.feed(std::string_view(all_input).substr(split));
        ASSERT_EQ(s.output(), all_output) << "split at " << split;
    }
}

std::vector<fs::path> transcripts() {
    std::vector<fs::path> out;
    for (const char* dir : {"smtp", "lmtp"}) {
        const fs::path root = fs::path(SOV_SOURCE_DIR) / "tests" / "transcripts" / dir;
        if (!fs::exists(root)) {
            continue;
        }
        for (const auto& e : fs::directory_iterator(root)) {
            if (e.path().extension() == ".txt") {
                out.push_back(e.path());
            }
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

INSTANTIATE_TEST_SUITE_P(
    Files,
    TranscriptTest,
    testing::ValuesIn(transcripts()),
    [](const testing::TestParamInfo<fs::path>& param_info) {
        std::string name = param_info.param.parent_path().filename().string() + "_" +
                           param_info.param.stem().string();
        for (auto& c : name) {
            if (std::isalnum(static_cast<unsigned char>(c)) == 0) {
                c = '_';
            }
        }
        return name;
    }
);

TEST(Transcripts, AtLeastTen) {
    EXPECT_GE(transcripts().size(), 10U);
}

}  // namespace
}  // namespace sov::smtp::wire
