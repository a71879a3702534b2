#include "common/swarm/engine.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "common/store/file_io.h"
#include "common/swarm/blob_swarm.h"

namespace fanout::swarm {
namespace asio = boost::asio;
namespace wire = proto::wire;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

unsigned thread_count(const Settings& s) {
  return s.threads ? s.threads : std::max(1u, std::thread::hardware_concurrency());
}

wire::PeerId random_peer_id() {
  // "-FO0100-" marks fanout peers, Azureus-style; the rest is random.
  wire::PeerId id;
  const char prefix[] = "-FO0100-";
  std::memcpy(id.data(), prefix, 8);
  std::random_device rd;
  for (size_t i = 8; i < id.size(); ++i) id[i] = static_cast<uint8_t>(rd());
  return id;
}

// Reads an incoming connection's HELLO on the connection's own strand, with a deadline.
struct Handshake : std::enable_shared_from_this<Handshake> {
  PeerPtr peer;
  asio::steady_timer timer;
  std::function<void(PeerPtr, wire::Hello)> on_hello;

  Handshake(PeerPtr p, std::function<void(PeerPtr, wire::Hello)> cb)
      : peer(std::move(p)), timer(peer->socket.get_executor()), on_hello(std::move(cb)) {}

  void start() {
    timer.expires_after(std::chrono::seconds(10));
    timer.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) {
        error_code ignored;
        self->peer->socket.close(ignored);
      }
    });
    asio::async_read(peer->socket, asio::buffer(peer->header.data(), wire::kHeaderSize),
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (ec) return self->fail();
                       wire::FrameHeader h;
                       try {
                         h = wire::parse_header(self->peer->header.data());
                       } catch (const proto::ProtoError&) {
                         return self->fail();
                       }
                       if (h.type != wire::FrameType::kHello) return self->fail();
                       self->peer->body.resize(h.body_size);
                       asio::async_read(self->peer->socket, asio::buffer(self->peer->body),
                                        [self](error_code ec, size_t) {
                                          if (ec) return self->fail();
                                          self->timer.cancel();
                                          try {
                                            auto hello = wire::decode_hello(self->peer->body);
                                            self->on_hello(self->peer, std::move(hello));
                                          } catch (const proto::ProtoError&) {
                                            self->fail();
                                          }
                                        });
                     });
  }

  void fail() {
    timer.cancel();
    error_code ignored;
    peer->socket.close(ignored);
  }
};

}  // namespace

struct Engine::Impl {
  Settings settings;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  asio::thread_pool disk;
  asio::thread_pool reads;
  asio::thread_pool announcer{1};
  EngineContext ctx;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  bool running = false;

  mutable std::mutex mu;
  std::unordered_map<Digest, std::shared_ptr<BlobSwarm>> swarms;

  Impl(Settings s, std::shared_ptr<PeerDiscovery> discovery, EngineMetrics& metrics,
       std::shared_ptr<RangeSource> fallback)
      : settings(std::move(s)),
        disk(settings.disk_threads ? settings.disk_threads : std::max(4u, thread_count(settings))),
        reads(std::max(1u, settings.read_threads)),
        ctx{io, disk, reads, announcer, settings, std::move(discovery), metrics} {
    ctx.peer_id = random_peer_id();
    ctx.fallback = std::move(fallback);
  }

  std::shared_ptr<BlobSwarm> find(const Digest& d) const {
    std::lock_guard lock(mu);
    auto it = swarms.find(d);
    return it == swarms.end() ? nullptr : it->second;
  }

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [this](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto peer = std::make_shared<Peer>(std::move(socket));
        auto remote = peer->socket.remote_endpoint(ignored);
        peer->remote = remote.address().to_string() + ":" + std::to_string(remote.port());
        std::make_shared<Handshake>(peer, [this](PeerPtr p, wire::Hello hello) {
          if (auto swarm = find(hello.digest)) {
            swarm->attach_incoming(std::move(p), std::move(hello));
          } else {
            error_code ignored;
            asio::write(p->socket,
                        asio::buffer(wire::encode(wire::Error{wire::ErrorCode::kUnknownBlob,
                                                              "no such blob here"})),
                        ignored);
            p->socket.close(ignored);
          }
        })->start();
      }
      accept();
    });
  }
};

Engine::Engine(Settings settings, std::shared_ptr<PeerDiscovery> discovery,
               EngineMetrics& metrics, std::shared_ptr<RangeSource> fallback)
    : impl_(std::make_unique<Impl>(std::move(settings), std::move(discovery), metrics,
                                   std::move(fallback))) {
  peer_id_.assign(impl_->ctx.peer_id.begin(), impl_->ctx.peer_id.end());
}

Engine::~Engine() { stop(); }

void Engine::start() {
  auto& s = impl_->settings;
  tcp::endpoint endpoint(asio::ip::make_address(s.listen_host), s.listen_port);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->ctx.listen_port = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  for (unsigned i = 0; i < thread_count(s); ++i) {
    impl_->threads.emplace_back([this] {
      // splice(2) into a socket the peer has closed raises SIGPIPE (it has no MSG_NOSIGNAL),
      // which would end the process. Blocked on the threads that splice, the call fails with
      // EPIPE instead and the connection closes like any other.
      sigset_t pipe_signal;
      sigemptyset(&pipe_signal);
      sigaddset(&pipe_signal, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
      impl_->io.run();
    });
  }
  impl_->running = true;
  spdlog::info("peer engine listening on {}:{} ({} threads)", s.listen_host,
               impl_->ctx.listen_port.load(), impl_->threads.size());
}

void Engine::stop() {
  if (!impl_->running) return;
  impl_->running = false;
  std::vector<std::shared_ptr<BlobSwarm>> all;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& [d, s] : impl_->swarms) all.push_back(s);
    impl_->swarms.clear();
  }
  asio::post(impl_->io, [this] {
    error_code ignored;
    impl_->acceptor.close(ignored);
  });
  std::vector<std::future<void>> closing;
  for (auto& s : all) closing.push_back(s->shutdown());
  for (auto& f : closing) f.wait_for(std::chrono::seconds(2));
  // The "stopped" announces and in-flight disk work finish, then the loops end.
  impl_->announcer.join();
  impl_->disk.join();
  impl_->work.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  // After the loops: a block being spliced to a closing peer may still want a read until then.
  impl_->reads.join();
}

uint16_t Engine::listen_port() const { return impl_->ctx.listen_port.load(); }

void Engine::seed(const proto::Metainfo& info, const std::filesystem::path& file) {
  std::lock_guard lock(impl_->mu);
  auto& slot = impl_->swarms[info.digest];
  if (slot && !slot->failed()) return;
  int fd = fileio::open_or_throw(file, O_RDONLY);
  slot = std::make_shared<BlobSwarm>(impl_->ctx, info, fd);
  slot->start();
}

std::shared_future<FetchResult> Engine::fetch(const proto::Metainfo& info, const BlobStore& store,
                                              bool pieces_bound_to_digest) {
  std::lock_guard lock(impl_->mu);
  auto& slot = impl_->swarms[info.digest];
  if (slot && !slot->failed()) return slot->result();
  if (slot) slot->shutdown();
  std::shared_ptr<PartialBlob> partial = store.open_partial(
      info.digest, info.size, info.piece_length, info.pieces, pieces_bound_to_digest);
  slot = std::make_shared<BlobSwarm>(impl_->ctx, info, std::move(partial));
  slot->start();
  return slot->result();
}

std::shared_future<bool> Engine::prioritize(const Digest& digest, uint64_t offset,
                                            uint64_t length) {
  if (auto s = impl_->find(digest)) return s->prioritize(offset, length);
  std::promise<bool> unknown;
  unknown.set_value(false);
  return unknown.get_future().share();
}

bool Engine::read(const Digest& digest, uint64_t offset, void* out, size_t length) const {
  auto s = impl_->find(digest);
  return s && s->read(offset, out, length);
}

void Engine::add_peers(const Digest& digest, const std::vector<PeerAddress>& peers) {
  if (auto s = impl_->find(digest)) s->add_peers(peers);
}

void Engine::remove(const Digest& digest) {
  std::shared_ptr<BlobSwarm> s;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->swarms.find(digest);
    if (it == impl_->swarms.end()) return;
    s = it->second;
    impl_->swarms.erase(it);
  }
  s->shutdown();
}

std::optional<BlobStats> Engine::stats(const Digest& digest) const {
  if (auto s = impl_->find(digest)) return s->stats();
  return std::nullopt;
}

}  // namespace fanout::swarm
