#include "net/busy_poll.hpp"

#include <sched.h>

#include <algorithm>

namespace sov::net {

BusyPollWindow::BusyPollWindow(Duration max)
    : max_(std::max(max, Duration::zero())), start_(max_ / 4), window_(start_) {}

void BusyPollWindow::waited(Duration idle) {
    if (max_ == Duration::zero()) {
        return;
    }
    if (idle > max_) {
        window_ /= 2;
        if (window_ < Duration{1000}) {
            window_ = Duration::zero();  // below a microsecond a poll catches nothing
        }
    } else if (idle > window_) {
        window_ = std::min(max_, std::max(start_, window_ * 2));
    }
}

bool BusyPollWindow::worth_it_on_this_machine() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        return false;
    }
    return CPU_COUNT(&set) > 1;
}

}  // namespace sov::net
