using System.Net;
using System.Security.Cryptography;

namespace CoapEnroll.Coap;

/// <summary>
/// Hands out message IDs per peer so that none is reused with that peer within EXCHANGE_LIFETIME
/// (RFC 7252 §4.4). Each peer counts up from a random start; the 65536 IDs are tracked in 16
/// groups of 4096, and a group is entered again only when its previous use began more than
/// EXCHANGE_LIFETIME ago. Past roughly 250 messages a second to one peer no ID is free until then
/// (which would otherwise make the peer take a new message for a duplicate and replay an old reply).
/// 16 timestamps per peer keep the state small; idle peers are forgotten by <see cref="Sweep"/>, and
/// at most <c>maxPeers</c> are held: to make room for a new one the least recently active is forgotten
/// (counted in <see cref="Evicted"/>), so that addresses without end cost a bounded table. Only that
/// peer bears the risk: its next ID starts from a random point again.
/// </summary>
internal sealed class MessageIdAllocator
{
    private const int GroupShift = 12;
    private const int GroupCount = 1 << (16 - GroupShift);

    private readonly Dictionary<EndPoint, PeerState> _peers = [];
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly long _lifetimeTicks;
    private readonly int _maxPeers;

    // Least recently active first: a peer moves to the tail whenever it is given an ID (or asks for one).
    private PeerState? _oldest;
    private PeerState? _newest;
    private long _evicted;

    public MessageIdAllocator(TimeProvider time, TimeSpan exchangeLifetime, int maxPeers = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPeers, 1);
        _time = time;
        _lifetimeTicks = (long)(exchangeLifetime.TotalSeconds * time.TimestampFrequency);
        _maxPeers = maxPeers;
    }

    public int PeerCount
    {
        get
        {
            lock (_lock)
            {
                return _peers.Count;
            }
        }
    }

    /// <summary>Peers the table has room for (for tests: it shrinks after a peak).</summary>
    internal int PeerTableCapacity
    {
        get
        {
            lock (_lock)
            {
                return _peers.EnsureCapacity(0);
            }
        }
    }

    /// <summary>Peers forgotten to make room for another while they were still within EXCHANGE_LIFETIME.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>The smallest peer-table capacity a sweep trims (<see cref="SparseTables.DefaultMinimumCapacity"/>, lower in tests).</summary>
    internal int TrimMinimumCapacity { get; set; } = SparseTables.DefaultMinimumCapacity;

    /// <summary>
    /// A fresh ID for <paramref name="peer"/>, or false with how long until one is free. <paramref name="evicted"/> is true when
    /// another peer's state was forgotten to make room for this one.
    /// </summary>
    public bool TryAllocate(EndPoint peer, out ushort messageId, out TimeSpan retryAfter, out bool evicted)
    {
        long now = _time.GetTimestamp();
        evicted = false;
        lock (_lock)
        {
            if (_peers.TryGetValue(peer, out PeerState? state))
            {
                Unlink(state);
            }
            else
            {
                if (_peers.Count >= _maxPeers)
                {
                    PeerState oldest = _oldest!;
                    Unlink(oldest);
                    _peers.Remove(oldest.Peer);
                    if (now - oldest.LastUsed <= _lifetimeTicks)
                    {
                        _evicted++;
                        evicted = true;
                    }
                }

                state = new PeerState(peer, RandomNumberGenerator.GetInt32(ushort.MaxValue + 1));
                _peers.Add(peer, state);
            }

            Append(state);
            state.LastUsed = now;
            int next = state.Next;
            int group = next >> GroupShift;
            bool entersGroup = (next & ((1 << GroupShift) - 1)) == 0 || state.GroupStarted[group] == 0;
            if (entersGroup)
            {
                long started = state.GroupStarted[group];
                if (started != 0 && now - started < _lifetimeTicks)
                {
                    messageId = 0;
                    retryAfter = TimeSpan.FromSeconds((double)(_lifetimeTicks - (now - started)) / _time.TimestampFrequency);
                    return false;
                }

                // The group's previous use is over; its start is the oldest moment any of its IDs went out.
                state.GroupStarted[group] = now == 0 ? 1 : now;
            }

            messageId = (ushort)next;
            state.Next = (next + 1) & 0xFFFF;
            retryAfter = TimeSpan.Zero;
            return true;
        }
    }

    /// <inheritdoc cref="TryAllocate(EndPoint, out ushort, out TimeSpan, out bool)"/>
    public bool TryAllocate(EndPoint peer, out ushort messageId, out TimeSpan retryAfter) => TryAllocate(peer, out messageId, out retryAfter, out _);

    /// <summary>
    /// Forgets peers with no message for EXCHANGE_LIFETIME (every ID they were given is free again), oldest first, and gives the
    /// table's memory back after a peak.
    /// </summary>
    public void Sweep(long now)
    {
        lock (_lock)
        {
            while (_oldest is { } oldest && now - oldest.LastUsed > _lifetimeTicks)
            {
                Unlink(oldest);
                _peers.Remove(oldest.Peer);
            }

            SparseTables.TrimIfSparse(_peers, TrimMinimumCapacity);
        }
    }

    private void Append(PeerState state)
    {
        state.Older = _newest;
        state.Newer = null;
        if (_newest is not null)
        {
            _newest.Newer = state;
        }
        else
        {
            _oldest = state;
        }

        _newest = state;
    }

    private void Unlink(PeerState state)
    {
        if (state.Older is not null)
        {
            state.Older.Newer = state.Newer;
        }
        else if (_oldest == state)
        {
            _oldest = state.Newer;
        }

        if (state.Newer is not null)
        {
            state.Newer.Older = state.Older;
        }
        else if (_newest == state)
        {
            _newest = state.Older;
        }

        state.Older = null;
        state.Newer = null;
    }

    private sealed class PeerState(EndPoint peer, int start)
    {
        public readonly EndPoint Peer = peer;
        public readonly long[] GroupStarted = new long[GroupCount];
        public int Next = start;
        public long LastUsed;
        public PeerState? Older;
        public PeerState? Newer;
    }
}
