// tapfwd: a bare two-TAP forwarder (TAP A <-> TAP B), for measuring the per-frame system-call cost
// of switchd's I/O edge against io_uring. Standalone: depends on nothing in the switchd tree.
//
// Modes:
//   epoll   read() per frame (up to --batch per wake-up, level-triggered epoll) and writev() of
//           virtio-net header + frame per frame: what switchd/io/daemon.cc does through libevent.
//   uring   io_uring, --depth READ_FIXED requests outstanding per TAP (registered buffers and
//           files); a completed read becomes a WRITE_FIXED of the same buffer to the other TAP,
//           linked (IOSQE_IO_LINK) to the READ_FIXED that re-arms the buffer, with
//           IOSQE_CQE_SKIP_SUCCESS on the write. All writes and re-arms produced by one batch of
//           completions go in one io_uring_enter, which also waits for the next completion.
//           SINGLE_ISSUER|DEFER_TASKRUN unless --taskrun says otherwise.
//   mshot   io_uring, one multishot read (IORING_OP_READ_MULTISHOT, Linux 6.7+) per TAP with a
//           provided-buffer ring of --depth buffers; WRITE_FIXED per frame, the buffer goes back
//           to the ring when the write completes. One io_uring_enter per batch as above.
//   evfd    mshot driven the way a libevent program would: an eventfd registered with the ring
//           (io_uring_register_eventfd) sits in epoll (edge-triggered, so it is never read);
//           each wake-up is epoll_wait + io_uring_enter(GETEVENTS) to run the deferred work and
//           reap + io_uring_enter to submit the writes. Eventfd notifications are switched off
//           (IORING_CQ_EVENTFD_DISABLED) while the loop is busy.
//   sqpoll  the uring design with IORING_SETUP_SQPOLL: a kernel thread polls the SQ, the
//           program only enters the kernel to wait when its CQ is empty (or to wake that thread).
//
// Stdout protocol: "ready" once both TAPs are open; one JSON line of counters on SIGUSR1 and on
// exit (SIGTERM/SIGINT or --max-seconds). Exits 2 on setup errors (e.g. mode unsupported).

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <string>

namespace {

constexpr size_t kVnetHdr = 10;  // sizeof(struct virtio_net_hdr), as switchd
constexpr size_t kBufSize =
    17 * 4096;  // header + a 64 KiB GSO frame + Ethernet header, page-rounded
constexpr uint8_t kOpReadMultishot =
    49;  // IORING_OP_READ_MULTISHOT; liburing 2.3's headers predate it

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_dump = 0;

void OnSignal(int sig) {
  if (sig == SIGUSR1)
    g_dump = 1;
  else
    g_stop = 1;
}

struct Options {
  std::string mode = "epoll";
  std::string tap[2];
  unsigned depth = 64;  // io_uring: buffers (reads outstanding) per TAP
  unsigned batch = 64;  // epoll: frames read per TAP per wake-up (switchd's kReadBatch)
  unsigned max_seconds = 600;
  std::string taskrun = "defer";  // defer | coop | none (uring/mshot)
  unsigned sq_idle_ms = 1000;
  bool offloads = true;
};

struct Counters {
  uint64_t frames[2] = {0, 0};  // frames read from TAP i and written to the other
  uint64_t bytes[2] = {0, 0};
  uint64_t drops = 0;      // reads whose write failed
  uint64_t loops = 0;      // wake-ups: epoll_wait or io_uring_enter/wait calls returning
  uint64_t sys_read = 0;   // epoll: read() calls incl. the final EAGAIN one
  uint64_t sys_write = 0;  // epoll: writev() calls
  uint64_t sys_wait = 0;   // epoll_wait() calls, or io_uring_enter calls the loop asked for
  uint64_t cqes = 0;       // completions reaped
  uint64_t stalls = 0;     // evfd: epoll_wait timeouts that found work (a lost wake-up)
};

Counters g_c;
Options g_opt;
timespec g_start;

void Ready() {
  printf("ready\n");
  fflush(stdout);
}

double Seconds(const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

void Dump(const char* why) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  printf(
      "{\"event\":\"%s\",\"mode\":\"%s\",\"t\":%.6f,\"frames_ab\":%llu,\"frames_ba\":%llu,"
      "\"bytes_ab\":%llu,\"bytes_ba\":%llu,\"drops\":%llu,\"loops\":%llu,\"sys_read\":%llu,"
      "\"sys_write\":%llu,\"sys_wait\":%llu,\"cqes\":%llu,\"stalls\":%llu,\"utime\":%.6f,"
      "\"stime\":%.6f}\n",
      why, g_opt.mode.c_str(),
      (now.tv_sec - g_start.tv_sec) + (now.tv_nsec - g_start.tv_nsec) / 1e9,
      (unsigned long long)g_c.frames[0], (unsigned long long)g_c.frames[1],
      (unsigned long long)g_c.bytes[0], (unsigned long long)g_c.bytes[1],
      (unsigned long long)g_c.drops, (unsigned long long)g_c.loops,
      (unsigned long long)g_c.sys_read, (unsigned long long)g_c.sys_write,
      (unsigned long long)g_c.sys_wait, (unsigned long long)g_c.cqes,
      (unsigned long long)g_c.stalls, Seconds(ru.ru_utime), Seconds(ru.ru_stime));
  fflush(stdout);
}

// Returns false when the loop must end.
bool Poll() {
  if (g_dump) {
    g_dump = 0;
    Dump("dump");
  }
  return !g_stop;
}

[[noreturn]] void Die(const char* what, int err) {
  fprintf(stderr, "tapfwd: %s: %s\n", what, strerror(err));
  exit(2);
}

int OpenTap(const std::string& name, bool offloads, bool nonblock) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
  if (fd < 0) Die("open /dev/net/tun", errno);
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (offloads ? IFF_VNET_HDR : 0);
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name.c_str());
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) Die("TUNSETIFF", errno);
  if (offloads) {
    int hdr = kVnetHdr;
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) Die("TUNSETVNETHDRSZ", errno);
    // As switchd: TSO/CSUM (USO where the kernel has it).
    const unsigned tcp = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    if (ioctl(fd, TUNSETOFFLOAD, tcp | 0x20 | 0x40) < 0 && ioctl(fd, TUNSETOFFLOAD, tcp) < 0)
      Die("TUNSETOFFLOAD", errno);
  }
  return fd;
}

// ---------------------------------------------------------------------------------------------
// (1) epoll + read/writev, as switchd.

int RunEpoll(int fd[2]) {
  const size_t hdr = g_opt.offloads ? kVnetHdr : 0;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) Die("epoll_create1", errno);
  for (int s = 0; s < 2; ++s) {
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered, as libevent's epoll backend without EV_ET
    ev.data.u32 = s;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd[s], &ev) < 0) Die("epoll_ctl", errno);
  }
  auto* buffer = static_cast<unsigned char*>(aligned_alloc(4096, kBufSize));
  epoll_event events[8];
  Ready();
  while (Poll()) {
    int n = epoll_wait(ep, events, 8, -1);
    ++g_c.sys_wait;
    if (n < 0) {
      if (errno == EINTR) continue;
      Die("epoll_wait", errno);
    }
    ++g_c.loops;
    for (int e = 0; e < n; ++e) {
      const int s = events[e].data.u32;
      for (unsigned i = 0; i < g_opt.batch; ++i) {
        ssize_t r = read(fd[s], buffer, kBufSize);
        ++g_c.sys_read;
        if (r < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN) break;
          Die("read", errno);
        }
        if (static_cast<size_t>(r) < hdr) continue;
        // switchd parses the header and serialises it again into a separate iovec.
        unsigned char header[kVnetHdr];
        memcpy(header, buffer, hdr);
        iovec parts[2] = {{header, hdr}, {buffer + hdr, static_cast<size_t>(r) - hdr}};
        ssize_t w = hdr ? writev(fd[1 - s], parts, 2) : write(fd[1 - s], buffer, r);
        ++g_c.sys_write;
        if (w == r) {
          ++g_c.frames[s];
          g_c.bytes[s] += r - hdr;
        } else {
          ++g_c.drops;
        }
      }
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// io_uring common.

enum Kind : uint64_t { kRead = 1, kWrite = 2 };
uint64_t Tag(Kind k, unsigned s, unsigned b, unsigned len = 0) {
  return (uint64_t(k) << 56) | (uint64_t(s) << 48) | (uint64_t(b) << 32) | len;
}
Kind TagKind(uint64_t t) { return Kind(t >> 56); }
unsigned TagSide(uint64_t t) { return (t >> 48) & 0xff; }
unsigned TagBuf(uint64_t t) { return (t >> 32) & 0xffff; }
unsigned TagLen(uint64_t t) { return t & 0xffffffff; }

struct Uring {
  io_uring ring{};
  unsigned char* pool[2] = {nullptr, nullptr};
  io_uring_buf_ring* br[2] = {nullptr, nullptr};
  bool sqpoll = false;
  bool mshot = false;
  bool armed[2] = {false, false};
  unsigned returned[2] = {0, 0};  // buffers added to br[s] since the last advance

  unsigned char* Buf(unsigned s, unsigned b) { return pool[s] + size_t(b) * kBufSize; }

  io_uring_sqe* Sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    while (!sqe) {  // SQ full: flush it (rare: the SQ is sized for the worst case)
      io_uring_submit(&ring);
      ++g_c.sys_wait;
      sqe = io_uring_get_sqe(&ring);
    }
    return sqe;
  }

  void ArmRead(unsigned s, unsigned b) {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_read_fixed(sqe, s, Buf(s, b), kBufSize, 0, s);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, Tag(kRead, s, b));
  }

  void ArmMultishot(unsigned s) {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_rw(kOpReadMultishot, sqe, s, nullptr, 0, 0);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    sqe->buf_group = s;
    io_uring_sqe_set_data64(sqe, Tag(kRead, s, 0));
    armed[s] = true;
  }

  void Write(unsigned s, unsigned b, unsigned len, bool link_rearm) {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_write_fixed(sqe, 1 - s, Buf(s, b), len, 0, s);
    sqe->flags |= IOSQE_FIXED_FILE;
    if (link_rearm) sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, Tag(kWrite, s, b, len));
    if (link_rearm) ArmRead(s, b);
  }

  void ReturnBuffer(unsigned s, unsigned b) {
    io_uring_buf_ring_add(br[s], Buf(s, b), kBufSize, b, io_uring_buf_ring_mask(g_opt.depth),
                          returned[s]++);
  }

  void Handle(io_uring_cqe* cqe) {
    const uint64_t tag = cqe->user_data;
    const unsigned s = TagSide(tag);
    const int res = cqe->res;
    if (TagKind(tag) == kRead) {
      unsigned b = TagBuf(tag);
      if (mshot) {
        if (!(cqe->flags & IORING_CQE_F_MORE)) armed[s] = false;
        if (cqe->flags & IORING_CQE_F_BUFFER) b = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
      }
      if (res > 0) {
        if (static_cast<size_t>(res) < kVnetHdr && g_opt.offloads) {
          if (mshot)
            ReturnBuffer(s, b);
          else
            ArmRead(s, b);
          return;
        }
        ++g_c.frames[s];
        g_c.bytes[s] += res - (g_opt.offloads ? kVnetHdr : 0);
        Write(s, b, res, !mshot);
        return;
      }
      if (mshot) {
        if (res == -ENOBUFS) return;  // re-armed once a write hands a buffer back
        if (res < 0 && res != -EAGAIN && res != -EINTR && res != -ECANCELED)
          Die("multishot read", -res);
        return;
      }
      // -ECANCELED: the linked write before it failed (counted there). -EAGAIN: spurious.
      if (res == 0 || res == -ECANCELED || res == -EAGAIN || res == -EINTR) {
        ArmRead(s, b);
        return;
      }
      Die("read", -res);
    }
    // A write's completion: only failures in uring mode (CQE_SKIP_SUCCESS); every write in mshot.
    if (res != static_cast<int>(TagLen(tag))) {
      ++g_c.drops;
      --g_c.frames[s];
    }
    if (mshot) ReturnBuffer(s, TagBuf(tag));
  }

  void Flush() {
    for (unsigned s = 0; s < 2 && mshot; ++s) {
      if (returned[s]) {
        io_uring_buf_ring_advance(br[s], returned[s]);
        returned[s] = 0;
      }
      if (!armed[s]) ArmMultishot(s);
    }
  }
};

// Reaps every completion, then queues what they call for. Returns how many there were.
unsigned Reap(Uring& u) {
  unsigned head, count = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&u.ring, head, cqe) {
    u.Handle(cqe);
    ++count;
  }
  io_uring_cq_advance(&u.ring, count);
  g_c.cqes += count;
  u.Flush();
  return count;
}

int RunEventfd(Uring& u) {
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) Die("eventfd", errno);
  int ret = io_uring_register_eventfd(&u.ring, efd);
  if (ret < 0) Die("io_uring_register_eventfd", -ret);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;  // libevent: EV_READ | EV_ET | EV_PERSIST
  if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0) Die("epoll_ctl", errno);
  const bool taskrun_flag = (u.ring.flags & IORING_SETUP_TASKRUN_FLAG) != 0;
  Ready();
  bool busy = true;  // the initial SQEs must go in
  while (Poll()) {
    if (!busy) {
      int n = epoll_wait(ep, &ev, 1, 1000);
      ++g_c.sys_wait;
      if (n < 0 && errno != EINTR) Die("epoll_wait", errno);
      if (n == 0) {
        // Nothing for a second: either idle or a lost wake-up; look, and count the latter.
        ++g_c.sys_wait;
        io_uring_submit_and_get_events(&u.ring);
        if (Reap(u)) ++g_c.stalls;
        continue;
      }
    }
    ++g_c.loops;
    io_uring_cq_eventfd_toggle(&u.ring, false);
    // Run the deferred work (the reads) and reap; submit the writes they call for (and reap
    // their completions, which come inline); stop when there is nothing left to submit.
    for (;;) {
      ++g_c.sys_wait;
      ret = io_uring_submit_and_get_events(&u.ring);
      if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) Die("io_uring_enter", -ret);
      Reap(u);
      if (io_uring_sq_ready(&u.ring) == 0) break;
    }
    io_uring_cq_eventfd_toggle(&u.ring, true);
    // Work queued after the last enter, while notifications were off, did not signal the
    // eventfd: the TASKRUN flag shows it (the fence orders the toggle before the check).
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    busy = io_uring_cq_ready(&u.ring) > 0 ||
           (taskrun_flag && (IO_URING_READ_ONCE(*u.ring.sq.kflags) & IORING_SQ_TASKRUN));
  }
  return 0;
}

int RunUring(int fd[2]) {
  Uring u;
  u.sqpoll = g_opt.mode == "sqpoll";
  const bool evfd = g_opt.mode == "evfd";
  u.mshot = g_opt.mode == "mshot" || evfd;
  const unsigned depth = g_opt.depth;
  if (u.mshot && (depth & (depth - 1))) Die("--depth must be a power of two for mshot", EINVAL);

  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE;
  p.cq_entries = 8 * depth;
  if (u.sqpoll) {
    p.flags |= IORING_SETUP_SQPOLL;
    p.sq_thread_idle = g_opt.sq_idle_ms;
  } else if (g_opt.taskrun == "defer") {
    p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    if (evfd) p.flags |= IORING_SETUP_TASKRUN_FLAG;  // tells when deferred work is pending
  } else if (g_opt.taskrun == "coop") {
    p.flags |= IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  }
  int ret = io_uring_queue_init_params(4 * depth, &u.ring, &p);
  if (ret < 0) Die("io_uring_queue_init_params", -ret);
  if ((ret = io_uring_register_files(&u.ring, fd, 2)) < 0) Die("io_uring_register_files", -ret);

  iovec regions[2];
  for (int s = 0; s < 2; ++s) {
    size_t size = size_t(depth) * kBufSize;
    void* mem = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) Die("mmap", errno);
    u.pool[s] = static_cast<unsigned char*>(mem);
    regions[s] = {mem, size};
  }
  if ((ret = io_uring_register_buffers(&u.ring, regions, 2)) < 0)
    Die("io_uring_register_buffers", -ret);

  if (u.mshot) {
    for (unsigned s = 0; s < 2; ++s) {
      size_t size = depth * sizeof(io_uring_buf);
      void* mem = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (mem == MAP_FAILED) Die("mmap", errno);
      u.br[s] = static_cast<io_uring_buf_ring*>(mem);
      io_uring_buf_ring_init(u.br[s]);
      io_uring_buf_reg reg{};
      reg.ring_addr = reinterpret_cast<uint64_t>(mem);
      reg.ring_entries = depth;
      reg.bgid = s;
      if ((ret = io_uring_register_buf_ring(&u.ring, &reg, 0)) < 0)
        Die("io_uring_register_buf_ring", -ret);
      for (unsigned b = 0; b < depth; ++b) u.ReturnBuffer(s, b);
    }
    u.Flush();
  } else {
    for (unsigned s = 0; s < 2; ++s)
      for (unsigned b = 0; b < depth; ++b) u.ArmRead(s, b);
  }

  if (evfd) return RunEventfd(u);
  Ready();
  while (Poll()) {
    if (u.sqpoll) {
      // The SQ thread picks the SQEs up; io_uring_submit enters only to wake it.
      io_uring_submit(&u.ring);
      if (io_uring_cq_ready(&u.ring) == 0) {
        io_uring_cqe* cqe;
        ++g_c.sys_wait;
        ret = io_uring_wait_cqe(&u.ring, &cqe);
      } else {
        ret = 0;
      }
    } else {
      ++g_c.sys_wait;
      ret = io_uring_submit_and_wait(&u.ring, 1);
    }
    if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY && ret != -ETIME)
      Die("io_uring_enter", -ret);
    ++g_c.loops;
    unsigned head, count = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&u.ring, head, cqe) {
      u.Handle(cqe);
      ++count;
    }
    io_uring_cq_advance(&u.ring, count);
    g_c.cqes += count;
    u.Flush();
  }
  return 0;
}

void Usage() {
  fprintf(
      stderr,
      "usage: tapfwd --mode epoll|uring|mshot|evfd|sqpoll --tap-a NAME --tap-b NAME [--depth N]\n"
      "              [--batch N] [--taskrun defer|coop|none] [--sq-idle-ms N]\n"
      "              [--max-seconds N] [--no-offload]\n");
  exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage();
      return argv[++i];
    };
    if (a == "--mode")
      g_opt.mode = value();
    else if (a == "--tap-a")
      g_opt.tap[0] = value();
    else if (a == "--tap-b")
      g_opt.tap[1] = value();
    else if (a == "--depth")
      g_opt.depth = std::stoul(value());
    else if (a == "--batch")
      g_opt.batch = std::stoul(value());
    else if (a == "--taskrun")
      g_opt.taskrun = value();
    else if (a == "--sq-idle-ms")
      g_opt.sq_idle_ms = std::stoul(value());
    else if (a == "--max-seconds")
      g_opt.max_seconds = std::stoul(value());
    else if (a == "--no-offload")
      g_opt.offloads = false;
    else
      Usage();
  }
  if (g_opt.tap[0].empty() || g_opt.tap[1].empty()) Usage();
  if (g_opt.mode != "epoll" && g_opt.mode != "uring" && g_opt.mode != "mshot" &&
      g_opt.mode != "evfd" && g_opt.mode != "sqpoll")
    Usage();
  if (g_opt.depth == 0 || g_opt.depth > 4096 || g_opt.batch == 0) Usage();

  struct sigaction sa {};
  sa.sa_handler = OnSignal;  // no SA_RESTART: the loop's wait returns EINTR
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGALRM}) sigaction(sig, &sa, nullptr);
  alarm(g_opt.max_seconds);  // bounded runtime whatever happens to the driver

  // epoll needs O_NONBLOCK (read until EAGAIN). io_uring gets blocking fds: tun honours
  // IOCB_NOWAIT, so io_uring tries each read non-blocking and arms its own poll when empty
  // (an O_NONBLOCK file would have -EAGAIN handed back instead).
  const bool nonblock = g_opt.mode == "epoll";
  int fd[2];
  for (int s = 0; s < 2; ++s) fd[s] = OpenTap(g_opt.tap[s], g_opt.offloads, nonblock);
  clock_gettime(CLOCK_MONOTONIC, &g_start);
  int rc = g_opt.mode == "epoll" ? RunEpoll(fd) : RunUring(fd);
  Dump("exit");
  return rc;
}
