#pragma once
// Slows down password guessing (issue 3: "failed logins slowed down per IP and per account";
// the same object serves SMTP submission later). Each failure doubles the delay before the
// next failed answer for that client address and for that account name; a success clears the
// account's counter (not the address's: one right password must not launder a spray from it).
// Counters decay: a key that has not failed for `forget_after` starts over.
//
// The delay is applied to the *answer* of a failed attempt (the session waits before replying
// NO), so a correct password is never slowed down and a guesser gets one try per delay.
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sov::accounts {

class LoginThrottle {
public:
    struct Options {
        unsigned free_failures = 2;  // failures answered without delay
        std::chrono::milliseconds first_delay{500};
        std::chrono::milliseconds max_delay{15000};
        std::chrono::minutes forget_after{15};
        std::size_t max_tracked = 100000;  // bounded memory under a distributed spray
    };
    LoginThrottle() : LoginThrottle(Options{}) {}
    explicit LoginThrottle(Options options) : options_(options) {}

    /// Records a failed attempt; returns how long to wait before answering it.
    std::chrono::milliseconds record_failure(std::string_view ip, std::string_view account);
    void record_success(std::string_view account);
    /// Failures currently counted for a key (tests, logs).
    unsigned failures(std::string_view key) const;

private:
    struct Entry {
        unsigned failures = 0;
        std::chrono::steady_clock::time_point last;
    };
    unsigned bump(const std::string& key, std::chrono::steady_clock::time_point now);
    std::chrono::milliseconds delay_for(unsigned failures) const;

    Options options_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;  // "ip:<addr>" and "acct:<name>"
};

}  // namespace sov::accounts
