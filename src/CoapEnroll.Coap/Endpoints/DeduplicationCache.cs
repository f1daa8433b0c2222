using System.Net;

namespace CoapEnroll.Coap;

/// <summary>
/// Remembers received message IDs per peer for EXCHANGE_LIFETIME (CON) or NON_LIFETIME (NON), with the encoded reply
/// once there is one, so that a duplicate is answered from the cache and never processed again (RFC 7252 §4.5).
/// Bounded per peer and overall, and it never refuses a message: what a bound costs falls on whoever exceeds it.
/// </summary>
/// <remarks>
/// <para>
/// Per peer, the most recent <c>perPeerCapacity</c> message IDs are kept in arrival order. A peer that sends more within
/// a lifetime forgets its own oldest exchanges (<see cref="DeduplicationBound.Peer"/>): a retransmission of one of those
/// is processed again, which only that peer can cause and only that peer sees. (Californium's per-peer deduplicator makes
/// the same trade.) Overall, at most <c>capacity</c> entries are held; past it the least recently active peers are
/// forgotten whole (<see cref="DeduplicationBound.Global"/>). No peer is ever refused because of another: a global
/// table that refuses when full lets one fast sender stop every other peer.
/// </para>
/// <para>
/// A peer's IDs sit in a ring of <see cref="ushort"/>s searched newest first with a vectorized LastIndexOf; the ring
/// grows by doubling up to <c>perPeerCapacity</c>, so a peer that sent one message costs a few dozen bytes. Peers are
/// linked in order of last activity, which gives both the peers to forget first and the peers a sweep has to look at:
/// once the least recently active peer's last message is younger than the shortest lifetime, every later peer still
/// has a live entry, so a sweep's cost follows the peers that expire, not all the peers held.
/// </para>
/// <para>
/// One lock guards everything. Its users are the receive loop (one TryAdd per message) and the periodic sweep, which
/// gives the lock up every <see cref="SweepBatch"/> peers.
/// </para>
/// </remarks>
internal sealed class DeduplicationCache
{
    /// <summary>The most peers a sweep looks at before it lets a waiting TryAdd in.</summary>
    internal const int SweepBatch = 1024;

    private const int InitialPeerSlots = 4;

    private readonly Dictionary<EndPoint, PeerHistory> _peers = [];
    private readonly int _capacity;
    private readonly int _perPeerCapacity;
    private readonly Lock _lock = new();

    // Peers by last activity: _oldest is the least recently active.
    private PeerHistory? _newest;
    private PeerHistory? _oldest;
    private long _shortestLifetime = long.MaxValue;
    private int _count;

    /// <param name="capacity">The most entries held for all peers together.</param>
    /// <param name="perPeerCapacity">The most entries held for one peer.</param>
    public DeduplicationCache(int capacity, int perPeerCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(perPeerCapacity, 1);
        _capacity = capacity;
        _perPeerCapacity = perPeerCapacity;
    }

    /// <summary>Entries held, expired ones not yet swept included.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The smallest peer-table capacity a sweep trims (<see cref="SparseTables.DefaultMinimumCapacity"/>, lower in tests).</summary>
    internal int TrimMinimumCapacity { get; set; } = SparseTables.DefaultMinimumCapacity;

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

    /// <summary>Peers with at least one entry held.</summary>
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

    /// <summary>
    /// Adds a fresh entry for <paramref name="key"/> and returns true; returns false with the existing entry when the
    /// key is a duplicate. An entry past its lifetime is no duplicate any more, even before a sweep.
    /// <paramref name="bound"/> tells which bound made room for the new entry, if any.
    /// </summary>
    public bool TryAdd(PeerMessageKey key, long now, long expiresAt, out Entry entry, out DeduplicationBound bound)
    {
        bound = DeduplicationBound.None;
        lock (_lock)
        {
            if (!_peers.TryGetValue(key.Peer, out PeerHistory? peer))
            {
                peer = new PeerHistory(key.Peer);
                _peers.Add(key.Peer, peer);
            }
            else if (peer.FindNewest(key.MessageId) is { } existing && existing.ExpiresAt > now)
            {
                // A duplicate is no activity: the order of peers stays the order of their last new message.
                entry = existing;
                return false;
            }
            else
            {
                Unlink(peer);
            }

            LinkNewest(peer);
            _count -= peer.DropExpiredHead(now);
            if (peer.Count == _perPeerCapacity)
            {
                peer.DropOldest();
                _count--;
                bound = DeduplicationBound.Peer;
            }

            entry = new Entry(now, expiresAt);
            peer.Append(key.MessageId, entry, _perPeerCapacity);
            peer.LastActivity = now;
            _shortestLifetime = Math.Min(_shortestLifetime, expiresAt - now);
            _count++;

            while (_count > _capacity)
            {
                if (_oldest is { } victim && !ReferenceEquals(victim, peer))
                {
                    Forget(victim);
                }
                else
                {
                    // Only this peer is left and the global bound is below its own: it gives up its oldest instead.
                    peer.DropOldest();
                    _count--;
                }

                bound = DeduplicationBound.Global;
            }

            return true;
        }
    }

    /// <summary>Removes expired entries, and every peer left without one.</summary>
    public void Sweep(long now)
    {
        // Peers whose last message is younger than the shortest lifetime still have a live entry; they and all peers
        // after them in activity order are left alone. A peer that stays (an older CON outlives its last NON) is
        // skipped in later batches by counting it.
        int kept = 0;
        while (true)
        {
            lock (_lock)
            {
                PeerHistory? peer = _oldest;
                for (int skip = 0; skip < kept && peer is not null; skip++)
                {
                    peer = peer.Newer;
                }

                int visited = 0;
                while (peer is not null && visited < SweepBatch && now - peer.LastActivity >= _shortestLifetime)
                {
                    PeerHistory? next = peer.Newer;
                    _count -= peer.DropExpired(now);
                    if (peer.Count == 0)
                    {
                        Forget(peer);
                    }
                    else
                    {
                        kept++;
                    }

                    visited++;
                    peer = next;
                }

                if (visited < SweepBatch)
                {
                    // After a peak of peers the table's arrays stay at their largest until trimmed.
                    SparseTables.TrimIfSparse(_peers, TrimMinimumCapacity);
                    return;
                }
            }
        }
    }

    private void Forget(PeerHistory peer)
    {
        Unlink(peer);
        _peers.Remove(peer.Peer);
        _count -= peer.Count;
    }

    private void Unlink(PeerHistory peer)
    {
        if (peer.Older is { } older)
        {
            older.Newer = peer.Newer;
        }
        else if (ReferenceEquals(_oldest, peer))
        {
            _oldest = peer.Newer;
        }

        if (peer.Newer is { } newer)
        {
            newer.Older = peer.Older;
        }
        else if (ReferenceEquals(_newest, peer))
        {
            _newest = peer.Older;
        }

        peer.Older = null;
        peer.Newer = null;
    }

    private void LinkNewest(PeerHistory peer)
    {
        peer.Older = _newest;
        if (_newest is not null)
        {
            _newest.Newer = peer;
        }

        _newest = peer;
        _oldest ??= peer;
    }

    /// <summary>One peer's message IDs in arrival order: a ring that grows by doubling up to the per-peer capacity.</summary>
    private sealed class PeerHistory(EndPoint peer)
    {
        private ushort[] _ids = new ushort[InitialPeerSlots];
        private Entry?[] _entries = new Entry?[InitialPeerSlots];
        private int _head;

        public EndPoint Peer { get; } = peer;

        public int Count { get; private set; }

        public long LastActivity { get; set; }

        public PeerHistory? Older { get; set; }

        public PeerHistory? Newer { get; set; }

        /// <summary>The most recent entry for <paramref name="messageId"/>: an ID reused after its entry expired is appended again, so only the newest counts.</summary>
        public Entry? FindNewest(ushort messageId)
        {
            int end = _head + Count;
            if (end > _ids.Length)
            {
                int wrapped = _ids.AsSpan(0, end - _ids.Length).LastIndexOf(messageId);
                if (wrapped >= 0)
                {
                    return _entries[wrapped];
                }

                end = _ids.Length;
            }

            int index = _ids.AsSpan(_head, end - _head).LastIndexOf(messageId);
            return index >= 0 ? _entries[_head + index] : null;
        }

        public void Append(ushort messageId, Entry entry, int capacity)
        {
            if (Count == _ids.Length)
            {
                Grow(Math.Min(_ids.Length * 2, capacity));
            }

            int slot = (_head + Count) % _ids.Length;
            _ids[slot] = messageId;
            _entries[slot] = entry;
            Count++;
        }

        public void DropOldest()
        {
            _entries[_head] = null;
            _head = (_head + 1) % _ids.Length;
            Count--;
        }

        /// <summary>Drops expired entries from the front (arrival order, so mostly expiry order); returns how many.</summary>
        public int DropExpiredHead(long now)
        {
            int dropped = 0;
            while (Count > 0 && _entries[_head]!.ExpiresAt <= now)
            {
                DropOldest();
                dropped++;
            }

            return dropped;
        }

        /// <summary>Drops every expired entry, also those behind a longer-lived one; returns how many.</summary>
        public int DropExpired(long now)
        {
            int dropped = DropExpiredHead(now);
            int kept = 0;
            for (int i = 0; i < Count; i++)
            {
                int from = (_head + i) % _ids.Length;
                if (_entries[from]!.ExpiresAt <= now)
                {
                    dropped++;
                    continue;
                }

                int to = (_head + kept) % _ids.Length;
                _ids[to] = _ids[from];
                _entries[to] = _entries[from];
                kept++;
            }

            for (int i = kept; i < Count; i++)
            {
                _entries[(_head + i) % _ids.Length] = null;
            }

            Count = kept;
            return dropped;
        }

        private void Grow(int size)
        {
            var ids = new ushort[size];
            var entries = new Entry?[size];
            for (int i = 0; i < Count; i++)
            {
                int from = (_head + i) % _ids.Length;
                ids[i] = _ids[from];
                entries[i] = _entries[from];
            }

            _ids = ids;
            _entries = entries;
            _head = 0;
        }
    }

    internal sealed class Entry(long createdAt, long expiresAt)
    {
        private byte[]? _reply;

        public long CreatedAt { get; } = createdAt;

        public long ExpiresAt { get; } = expiresAt;

        /// <summary>The last reply sent for the message (piggybacked response, empty ACK or RST); null while in progress.</summary>
        public byte[]? Reply
        {
            get => Volatile.Read(ref _reply);
            set => Volatile.Write(ref _reply, value);
        }
    }
}
