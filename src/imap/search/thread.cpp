// THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 §3, BASE.6.4.THREAD), and the
// thread-list response syntax (§4, §5).
//
// The trees are kept in flat vectors with explicit stacks instead of recursion: References
// chains come from the peer and can be as deep as the mailbox is large.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <unordered_map>

#include "imap/search/detail/text_match.hpp"
#include "imap/search/search.hpp"

namespace sov::imap::search {
namespace {

constexpr int kNone = -1;

// ---- ORDEREDSUBJECT ---------------------------------------------------------------------------

std::vector<ThreadNode> ordered_subject(const std::vector<ThreadInput>& msgs) {
    const std::size_t n = msgs.size();
    std::vector<std::string> subjects;
    subjects.reserve(n);
    for (const ThreadInput& m : msgs) {
        subjects.push_back(base_subject(m.subject));
    }
    // "sorted by base subject and then by the sent date"; equal dates keep mailbox order.
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (const int c = subjects[a].compare(subjects[b]); c != 0) {
            return c < 0;
        }
        if (msgs[a].sent_date != msgs[b].sent_date) {
            return msgs[a].sent_date < msgs[b].sent_date;
        }
        return a < b;
    });
    // "split into separate threads, with each thread containing messages with the same base
    // subject text": the first is the root, the others its children (no grandchildren).
    std::vector<std::size_t> heads;  // index into `order` of each thread's first message
    for (std::size_t i = 0; i < n; ++i) {
        if (i == 0 || subjects[order[i]] != subjects[order[i - 1]]) {
            heads.push_back(i);
        }
    }
    // "the threads are sorted by the sent date of the first message in the thread".
    std::vector<std::size_t> thread_order(heads.size());
    std::iota(thread_order.begin(), thread_order.end(), std::size_t{0});
    std::stable_sort(thread_order.begin(), thread_order.end(), [&](std::size_t a, std::size_t b) {
        const std::size_t ma = order[heads[a]];
        const std::size_t mb = order[heads[b]];
        if (msgs[ma].sent_date != msgs[mb].sent_date) {
            return msgs[ma].sent_date < msgs[mb].sent_date;
        }
        return ma < mb;
    });
    std::vector<ThreadNode> threads;
    threads.reserve(heads.size());
    for (const std::size_t t : thread_order) {
        const std::size_t begin = heads[t];
        const std::size_t end = t + 1 < heads.size() ? heads[t + 1] : n;
        ThreadNode root{msgs[order[begin]].id, {}};
        for (std::size_t i = begin + 1; i < end; ++i) {
            root.children.push_back(ThreadNode{msgs[order[i]].id, {}});
        }
        threads.push_back(std::move(root));
    }
    return threads;
}

// ---- REFERENCES -------------------------------------------------------------------------------

struct Container {
    int msg = kNone;  // index into the input; kNone = dummy
    int parent = kNone;
    std::vector<int> children;
};

class ReferencesThreader {
public:
    explicit ReferencesThreader(const std::vector<ThreadInput>& msgs) : msgs_(msgs) {
        subjects_.reserve(msgs.size());
        for (const ThreadInput& m : msgs) {
            subjects_.push_back(extract_base_subject(m.subject));
        }
    }

    std::vector<ThreadNode> run() {
        for (std::size_t i = 0; i < msgs_.size(); ++i) {
            link_message(static_cast<int>(i));  // (1)
        }
        std::vector<int> roots;  // (2) the messages without parents are the root's children
        for (std::size_t c = 0; c < nodes_.size(); ++c) {
            if (nodes_[c].parent == kNone) {
                roots.push_back(static_cast<int>(c));
            }
        }
        roots = prune(roots);  // (3)
        // (4) sort the root's children; a dummy sorts by its first (earliest) child.
        for (const int r : roots) {
            sort_children(r);
        }
        sort_siblings(roots);
        roots = merge_subjects(roots);  // (5)
        sort_all(roots);                // (6)
        return to_nodes(roots);
    }

private:
    int new_container() {
        nodes_.emplace_back();
        return static_cast<int>(nodes_.size() - 1);
    }

    int container_for(const std::string& id) {
        const auto it = by_id_.find(id);
        if (it != by_id_.end()) {
            return it->second;
        }
        // "If no message can be found with a given Message ID, create a dummy message with
        // this ID. Use this dummy message for all subsequent references to this ID."
        const int c = new_container();
        by_id_.emplace(id, c);
        return c;
    }

    // Whether `a` is `b` or one of its descendants (walks up from a). A childless `b` has no
    // descendants: the common case of a new message is O(1), so long chains stay linear.
    bool within(int a, int b) const {
        if (nodes_[b].children.empty()) {
            return a == b;
        }
        for (int x = a; x != kNone; x = nodes_[x].parent) {
            if (x == b) {
                return true;
            }
        }
        return false;
    }

    void link(int parent, int child) {
        nodes_[child].parent = parent;
        nodes_[parent].children.push_back(child);
    }

    void unlink(int child) {
        const int p = nodes_[child].parent;
        if (p == kNone) {
            return;
        }
        auto& siblings = nodes_[p].children;
        siblings.erase(std::find(siblings.begin(), siblings.end(), child));
        nodes_[child].parent = kNone;
    }

    void link_message(int i) {
        const ThreadInput& m = msgs_[static_cast<std::size_t>(i)];
        // "If a message does not contain a Message-ID header line, or [it] does not contain a
        // valid Message ID, then assign a unique Message ID"; duplicates after the first (the
        // lowest sequence number) get unique ones too. A unique ID is a container nobody can
        // reference.
        int self = kNone;
        const std::vector<std::string> own = detail::message_ids(m.message_id);
        if (!own.empty()) {
            const int c = container_for(own.front());
            if (nodes_[c].msg == kNone) {
                self = c;  // first message with this ID (maybe a dummy created by a reference)
            }
        }
        if (self == kNone) {
            self = new_container();
        }
        nodes_[self].msg = i;

        // References, else the first valid Message ID of In-Reply-To.
        std::vector<std::string> refs = detail::message_ids(m.references);
        if (refs.empty()) {
            std::vector<std::string> irt = detail::message_ids(m.in_reply_to);
            if (!irt.empty()) {
                refs.push_back(std::move(irt.front()));
            }
        }
        // (1)(A) link consecutive references parent → child, never changing an existing parent
        // (a References line may be truncated) and never making a loop.
        int prev = kNone;
        for (const std::string& ref : refs) {
            const int c = container_for(ref);
            if (prev != kNone && prev != c && nodes_[c].parent == kNone && !within(prev, c)) {
                link(prev, c);
            }
            prev = c;
        }
        // (1)(B) the last reference is the parent: replace any parent set by (A) from another
        // message's references; with no references the message has no parent.
        unlink(self);
        if (prev != kNone && prev != self && !within(prev, self)) {
            link(prev, self);
        }
    }

    [[nodiscard]] bool is_dummy(int c) const { return nodes_[c].msg == kNone; }

    // Containers of the subtrees under `roots` in pre-order.
    std::vector<int> preorder(const std::vector<int>& roots) const {
        std::vector<int> out;
        std::vector<int> stack(roots.rbegin(), roots.rend());
        while (!stack.empty()) {
            const int c = stack.back();
            stack.pop_back();
            out.push_back(c);
            const auto& ch = nodes_[c].children;
            stack.insert(stack.end(), ch.rbegin(), ch.rend());
        }
        return out;
    }

    // (3) Prunes dummies; returns the new list of the root's children.
    std::vector<int> prune(const std::vector<int>& roots) {
        const std::vector<int> order = preorder(roots);
        // Children before parents: a dummy's children are final when its parent looks at it.
        for (auto it = order.rbegin(); it != order.rend(); ++it) {
            const int c = *it;
            std::vector<int> kept;
            for (const int ch : nodes_[c].children) {
                if (!is_dummy(ch)) {
                    kept.push_back(ch);
                    continue;
                }
                // "If it is a dummy message with NO children, delete it. If it is a dummy
                // message with children, delete it, but promote its children".
                for (const int g : nodes_[ch].children) {
                    nodes_[g].parent = c;
                    kept.push_back(g);
                }
                nodes_[ch].children.clear();
            }
            nodes_[c].children = std::move(kept);
        }
        std::vector<int> out;
        for (const int r : roots) {
            if (!is_dummy(r)) {
                out.push_back(r);
                continue;
            }
            const auto& ch = nodes_[r].children;
            if (ch.size() == 1) {
                // "Do not promote the children if doing so would make them children of the
                // root, unless there is only one child."
                nodes_[ch[0]].parent = kNone;
                out.push_back(ch[0]);
            } else if (!ch.empty()) {
                out.push_back(r);
            }
        }
        return out;
    }

    // Sent-date sort key of a container; a dummy uses its first child (sorted before).
    [[nodiscard]] std::pair<std::int64_t, int> key(int c) const {
        while (is_dummy(c) && !nodes_[c].children.empty()) {
            c = nodes_[c].children.front();
        }
        if (is_dummy(c)) {
            return {std::numeric_limits<std::int64_t>::max(), std::numeric_limits<int>::max()};
        }
        const int m = nodes_[c].msg;
        return {msgs_[static_cast<std::size_t>(m)].sent_date, m};  // ties: mailbox order
    }

    void sort_siblings(std::vector<int>& list) const {
        std::stable_sort(list.begin(), list.end(), [&](int a, int b) { return key(a) < key(b); });
    }

    void sort_children(int c) { sort_siblings(nodes_[c].children); }

    // (6) every set of siblings, the youngest (deepest) first.
    void sort_all(std::vector<int>& roots) {
        const std::vector<int> order = preorder(roots);
        for (auto it = order.rbegin(); it != order.rend(); ++it) {
            sort_children(*it);
        }
        sort_siblings(roots);
    }

    // The base subject of a root child: its own, or its first child's if it is a dummy.
    [[nodiscard]] const BaseSubject* thread_subject(int c) const {
        if (is_dummy(c)) {
            if (nodes_[c].children.empty()) {
                return nullptr;
            }
            c = nodes_[c].children.front();
            if (is_dummy(c)) {
                return nullptr;
            }
        }
        const BaseSubject& s = subjects_[static_cast<std::size_t>(nodes_[c].msg)];
        return s.text.empty() ? nullptr : &s;
    }

    [[nodiscard]] bool is_reply(int c) const {
        return !is_dummy(c) && subjects_[static_cast<std::size_t>(nodes_[c].msg)].reply_or_forward;
    }

    // (5) gathers root children with the same base subject.
    std::vector<int> merge_subjects(std::vector<int> roots) {
        // (5)(A)(B) the subject table maps a thread subject to a slot of `roots`.
        std::unordered_map<std::string, std::size_t> table;
        for (std::size_t i = 0; i < roots.size(); ++i) {
            const BaseSubject* s = thread_subject(roots[i]);
            if (s == nullptr) {
                continue;
            }
            const auto [it, inserted] = table.emplace(s->text, i);
            if (inserted) {
                continue;
            }
            const int cur = roots[i];
            const int old = roots[it->second];
            // Prefer a dummy, then a non-reply, as the thread head.
            if (!is_dummy(old) && (is_dummy(cur) || (is_reply(old) && !is_reply(cur)))) {
                it->second = i;
            }
        }
        // (5)(C) merge.
        for (std::size_t i = 0; i < roots.size(); ++i) {
            const int cur = roots[i];
            const BaseSubject* s = thread_subject(cur);
            if (s == nullptr) {
                continue;
            }
            const std::size_t slot = table.at(s->text);
            if (slot == i) {
                continue;
            }
            const int head = roots[slot];
            if (is_dummy(head) && is_dummy(cur)) {
                // "append the current message's children to the children of the message in
                // the subject table ... and then delete the current message"
                for (const int ch : nodes_[cur].children) {
                    link(head, ch);
                }
                nodes_[cur].children.clear();
            } else if (is_dummy(head) || (is_reply(cur) && !is_reply(head))) {
                link(head, cur);  // a child of the table's message, a sibling of its children
            } else if (is_dummy(cur)) {
                // Not reachable by the rules of (5)(B) (a dummy always wins the table), kept so
                // no dummy ever nests under a dummy.
                link(cur, head);
                roots[slot] = cur;
            } else {
                // "create a new dummy message and make both ... children of the dummy. Then
                // replace the message in the subject table with the dummy message."
                const int d = new_container();
                link(d, head);
                link(d, cur);
                roots[slot] = d;
            }
            roots[i] = kNone;
        }
        roots.erase(std::remove(roots.begin(), roots.end(), kNone), roots.end());
        for (const int r : roots) {
            nodes_[r].parent = kNone;
        }
        return roots;
    }

    // Builds the ThreadNode trees without recursion.
    std::vector<ThreadNode> to_nodes(const std::vector<int>& roots) const {
        std::vector<ThreadNode> out(roots.size());
        struct Item {
            int container;
            ThreadNode* node;
        };
        std::vector<Item> stack;
        for (std::size_t i = 0; i < roots.size(); ++i) {
            stack.push_back(Item{roots[i], &out[i]});
        }
        while (!stack.empty()) {
            const Item item = stack.back();
            stack.pop_back();
            const Container& c = nodes_[item.container];
            item.node->id = c.msg == kNone ? 0U : msgs_[static_cast<std::size_t>(c.msg)].id;
            item.node->children.resize(c.children.size());  // never resized again: stable
            for (std::size_t k = 0; k < c.children.size(); ++k) {
                stack.push_back(Item{c.children[k], &item.node->children[k]});
            }
        }
        return out;
    }

    const std::vector<ThreadInput>& msgs_;
    std::vector<BaseSubject> subjects_;
    std::vector<Container> nodes_;
    std::unordered_map<std::string, int> by_id_;
};

// ---- response syntax --------------------------------------------------------------------------

// Writes the thread-members chain from `n` (a dummy prints no number) and returns the node
// whose two or more children follow as nested lists, or nullptr if the chain ends in a leaf.
const ThreadNode* write_chain(const ThreadNode* n, std::string& out) {
    bool need_space = false;
    for (;;) {
        if (n->id != 0) {
            if (need_space) {
                out.push_back(' ');
            }
            out += std::to_string(n->id);
            need_space = true;
        }
        if (n->children.empty()) {
            return nullptr;
        }
        if (n->children.size() == 1) {
            n = &n->children.front();
            continue;
        }
        if (need_space) {
            out.push_back(' ');  // thread-members SP thread-nested
        }
        return n;
    }
}

// thread-list = "(" (thread-members / thread-nested) ")"
// thread-members = nz-number *(SP nz-number) [SP thread-nested]; thread-nested = 2*thread-list
// A dummy prints nothing itself: "((3)(5))" is two siblings under a missing parent (§4).
void write_list(const ThreadNode& top, std::string& out) {
    struct Frame {
        const ThreadNode* split;  // its children are being written as nested lists
        std::size_t next = 0;
    };
    out.push_back('(');
    const ThreadNode* split = write_chain(&top, out);
    if (split == nullptr) {
        out.push_back(')');
        return;
    }
    std::vector<Frame> stack{Frame{split}};
    while (!stack.empty()) {
        Frame& f = stack.back();
        if (f.next == f.split->children.size()) {
            stack.pop_back();
            out.push_back(')');  // closes the list this split node is in
            continue;
        }
        const ThreadNode* child = &f.split->children[f.next++];
        out.push_back('(');
        if (const ThreadNode* s = write_chain(child, out)) {
            stack.push_back(Frame{s});
        } else {
            out.push_back(')');
        }
    }
}

}  // namespace

std::vector<ThreadNode> thread(std::string_view algorithm, const std::vector<ThreadInput>& msgs) {
    if (algorithm == "ORDEREDSUBJECT") {
        return ordered_subject(msgs);
    }
    if (algorithm == "REFERENCES") {
        return ReferencesThreader(msgs).run();
    }
    return {};
}

std::string format_threads(const std::vector<ThreadNode>& threads) {
    std::string out;
    for (const ThreadNode& t : threads) {
        write_list(t, out);
    }
    return out;
}

}  // namespace sov::imap::search
