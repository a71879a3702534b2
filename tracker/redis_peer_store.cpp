#include "tracker/redis_peer_store.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>

#include "common/log/log.h"

namespace fanout::tracker {
namespace {

// KEYS: peers, seen, seeders, meta, swarms.
// ARGV: now_ms, cutoff ("(" + now - ttl), ttl_ms*2, peer id, record, seeder (0/1), event,
//       max_peers, max_swarms, swarm name, digest ("" = none).
// Returns {seeders, leechers}, or the error "SWARM_LIMIT".
constexpr const char* kAnnounceScript = R"lua(
local peers, seen, seeders, meta, swarms = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, cutoff, keep = ARGV[1], ARGV[2], ARGV[3]
local id, record, seeder, event = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local max_peers, max_swarms = tonumber(ARGV[8]), tonumber(ARGV[9])
local name, digest = ARGV[10], ARGV[11]
local function drop(pid)
  redis.call('HDEL', peers, pid)
  redis.call('ZREM', seen, pid)
  redis.call('SREM', seeders, pid)
end
for _, pid in ipairs(redis.call('ZRANGEBYSCORE', seen, '-inf', cutoff)) do drop(pid) end
if event == 'stopped' then
  drop(id)
else
  if redis.call('ZCARD', seen) == 0 then
    redis.call('ZREMRANGEBYSCORE', swarms, '-inf', cutoff)
    if not redis.call('ZSCORE', swarms, name) and redis.call('ZCARD', swarms) >= max_swarms then
      return redis.error_reply('SWARM_LIMIT')
    end
  end
  if not redis.call('ZSCORE', seen, id) and redis.call('ZCARD', seen) >= max_peers then
    local oldest = redis.call('ZRANGE', seen, 0, 0)
    if oldest[1] then drop(oldest[1]) end
  end
  redis.call('HSET', peers, id, record)
  redis.call('ZADD', seen, now, id)
  if seeder == '1' then redis.call('SADD', seeders, id) else redis.call('SREM', seeders, id) end
  if digest ~= '' then redis.call('HSETNX', meta, 'digest', digest) end
  if event == 'completed' then redis.call('HINCRBY', meta, 'completed', 1) end
  redis.call('ZADD', swarms, now, name)
end
local total = redis.call('ZCARD', seen)
local s = redis.call('SCARD', seeders)
if total == 0 then
  redis.call('DEL', peers, seen, seeders, meta)
  redis.call('ZREM', swarms, name)
else
  for _, k in ipairs({peers, seen, seeders, meta}) do redis.call('PEXPIRE', k, keep) end
end
return {s, total - s}
)lua";

// KEYS: peers. ARGV: limit. All entries, or `limit` distinct random ones.
constexpr const char* kCandidatesScript = R"lua(
if redis.call('HLEN', KEYS[1]) <= tonumber(ARGV[1]) then return redis.call('HGETALL', KEYS[1]) end
return redis.call('HRANDFIELD', KEYS[1], ARGV[1], 'WITHVALUES')
)lua";

// KEYS: seen, seeders, meta. ARGV: oldest live announce (ms). Returns {live, seeders, completed}.
// Seeders may include expired peers until the next announce sweeps them: clamp to live.
constexpr const char* kScrapeScript = R"lua(
local live = redis.call('ZCOUNT', KEYS[1], ARGV[1], '+inf')
local s = math.min(redis.call('SCARD', KEYS[2]), live)
local completed = tonumber(redis.call('HGET', KEYS[3], 'completed') or '0')
return {live, s, completed}
)lua";

// KEYS: swarms. ARGV: prefix, oldest live announce (ms). Returns {peers, largest} over live swarms.
constexpr const char* kPeerCountScript = R"lua(
local total, largest = 0, 0
for _, h in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], '+inf')) do
  local n = redis.call('ZCOUNT', ARGV[1] .. 'swarm:' .. h .. ':seen', ARGV[2], '+inf')
  total = total + n
  if n > largest then largest = n end
end
return {total, largest}
)lua";

std::string hex_of(const std::string& bytes) {
  return to_hex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::string unhex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  if (hex.size() % 2 != 0) return out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  for (size_t start = 0;;) {
    size_t end = text.find(sep, start);
    out.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

template <typename T>
bool parse_int(std::string_view text, T& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size();
}

}  // namespace

struct RedisPeerStore::Reply {
  int type = 0;
  long long integer = 0;
  std::string str;
  std::vector<Reply> elements;

  static Reply from(const redisReply* r) {
    Reply out;
    out.type = r->type;
    out.integer = r->integer;
    if (r->str != nullptr) out.str.assign(r->str, r->len);
    for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(from(r->element[i]));
    return out;
  }
  long long at(size_t i) const {
    if (type != REDIS_REPLY_ARRAY || i >= elements.size() ||
        elements[i].type != REDIS_REPLY_INTEGER) {
      throw PeerStoreError("redis: unexpected reply shape");
    }
    return elements[i].integer;
  }
};

RedisPeerStore::RedisPeerStore(Options options, WallClock clock)
    : options_(std::move(options)), clock_(std::move(clock)) {}

RedisPeerStore::~RedisPeerStore() {
  for (redisContext* c : pool_) redisFree(c);
}

int64_t RedisPeerStore::system_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

RedisPeerStore::Reply RedisPeerStore::command(const std::vector<std::string>& argv) {
  redisContext* c = nullptr;
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      c = pool_.back();
      pool_.pop_back();
    }
  }
  std::string where = "redis " + options_.address.str();
  if (c == nullptr) {
    timeval tv{};
    tv.tv_sec = static_cast<long>(options_.timeout.count() / 1000);
    tv.tv_usec = static_cast<long>(options_.timeout.count() % 1000 * 1000);
    c = redisConnectWithTimeout(options_.address.host.c_str(), options_.address.port, tv);
    if (c == nullptr || c->err) {
      std::string error = c ? c->errstr : "cannot allocate a connection";
      if (c) redisFree(c);
      throw PeerStoreError(where + ": " + error);
    }
    redisSetTimeout(c, tv);
  }
  std::vector<const char*> args;
  std::vector<size_t> lengths;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* raw = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lengths.data()));
  if (raw == nullptr) {
    std::string error = c->errstr;
    redisFree(c);  // the connection's state is unknown: never reuse it
    throw PeerStoreError(where + ": " + error);
  }
  Reply reply = Reply::from(raw);
  freeReplyObject(raw);
  {
    std::lock_guard lock(pool_mu_);
    pool_.push_back(c);
  }
  if (reply.type == REDIS_REPLY_ERROR) {
    if (reply.str.find("SWARM_LIMIT") != std::string::npos) {
      throw SwarmLimitError("tracker already holds " + std::to_string(options_.max_swarms) +
                            " swarms");
    }
    throw PeerStoreError(where + ": " + reply.str);
  }
  return reply;
}

void RedisPeerStore::ping() {
  command({"PING"});
}

std::string RedisPeerStore::swarm_key(const std::string& info_hash, const char* suffix) const {
  return options_.key_prefix + "swarm:" + hex_of(info_hash) + ":" + suffix;
}

std::string RedisPeerStore::live_from() const {
  return std::to_string(clock_() - options_.peer_ttl.count());
}

SwarmCounts RedisPeerStore::announce(const PeerAnnounce& a) {
  int64_t now = clock_();
  bool seeder = a.left == 0;
  std::string record = a.ip.str() + "|" + std::to_string(a.port) + "|" + (seeder ? "1" : "0") +
                       "|" + (a.origin ? "1" : "0") + "|" + a.locality.zone + "|" +
                       a.locality.rack + "|" + std::to_string(now);
  Reply r = command(
      {"EVAL", kAnnounceScript, "5", swarm_key(a.info_hash, "peers"),
       swarm_key(a.info_hash, "seen"), swarm_key(a.info_hash, "seeders"),
       swarm_key(a.info_hash, "meta"), options_.key_prefix + "swarms", std::to_string(now),
       "(" + std::to_string(now - options_.peer_ttl.count()),
       std::to_string(options_.peer_ttl.count() * 2), hex_of(a.peer_id), record, seeder ? "1" : "0",
       std::string(proto::event_name(a.event)), std::to_string(options_.max_peers_per_swarm),
       std::to_string(options_.max_swarms), hex_of(a.info_hash), a.digest ? a.digest->str() : ""});
  return {static_cast<uint32_t>(r.at(0)), static_cast<uint32_t>(r.at(1))};
}

std::vector<StoredPeer> RedisPeerStore::candidates(const std::string& info_hash,
                                                   const std::string& exclude_peer_id,
                                                   size_t limit) {
  // One more than asked, in case the requester is among them.
  Reply r = command(
      {"EVAL", kCandidatesScript, "1", swarm_key(info_hash, "peers"), std::to_string(limit + 1)});
  int64_t cutoff = clock_() - options_.peer_ttl.count();
  std::string exclude = hex_of(exclude_peer_id);
  std::vector<StoredPeer> out;
  for (size_t i = 0; i + 1 < r.elements.size() && out.size() < limit; i += 2) {
    const std::string& id = r.elements[i].str;
    if (id == exclude) continue;
    auto f = split(r.elements[i + 1].str, '|');
    StoredPeer p;
    int64_t last = 0;
    auto ip = f.size() == 7 ? proto::IpAddress::parse(f[0]) : std::nullopt;
    if (!ip || !parse_int(f[1], p.port) || !parse_int(f[6], last)) {
      spdlog::warn("redis: skipping malformed peer record of swarm {}", hex_of(info_hash));
      continue;
    }
    if (last < cutoff) continue;  // expired; the next announce to the swarm removes it
    p.peer_id = unhex(id);
    p.ip = *ip;
    p.seeder = f[2] == "1";
    p.origin = f[3] == "1";
    p.locality = {std::string(f[4]), std::string(f[5])};
    out.push_back(std::move(p));
  }
  return out;
}

ScrapeCounts RedisPeerStore::scrape(const std::string& info_hash) {
  Reply r = command({"EVAL", kScrapeScript, "3", swarm_key(info_hash, "seen"),
                     swarm_key(info_hash, "seeders"), swarm_key(info_hash, "meta"), live_from()});
  auto live = static_cast<uint32_t>(r.at(0));
  auto seeders = static_cast<uint32_t>(r.at(1));
  return {{seeders, live - seeders}, static_cast<uint64_t>(r.at(2))};
}

std::optional<Digest> RedisPeerStore::digest_of(const std::string& info_hash) {
  Reply r = command({"HGET", swarm_key(info_hash, "meta"), "digest"});
  Digest d;
  if (r.type == REDIS_REPLY_STRING && Digest::try_parse(r.str, d)) return d;
  return std::nullopt;
}

size_t RedisPeerStore::expire() {
  command({"ZREMRANGEBYSCORE", options_.key_prefix + "swarms", "-inf", "(" + live_from()});
  return 0;
}

size_t RedisPeerStore::swarm_count() {
  Reply r = command({"ZCOUNT", options_.key_prefix + "swarms", live_from(), "+inf"});
  return static_cast<size_t>(r.integer);
}

size_t RedisPeerStore::peer_count() {
  Reply r = command({"EVAL", kPeerCountScript, "1", options_.key_prefix + "swarms",
                     options_.key_prefix, live_from()});
  return static_cast<size_t>(r.at(0));
}

size_t RedisPeerStore::largest_swarm() {
  Reply r = command({"EVAL", kPeerCountScript, "1", options_.key_prefix + "swarms",
                     options_.key_prefix, live_from()});
  return static_cast<size_t>(r.at(1));
}

}  // namespace fanout::tracker
