using System.Collections.Concurrent;

namespace CoapEnroll.Coap;

/// <summary>
/// Remembers received (peer, message ID) pairs for EXCHANGE_LIFETIME (CON) or NON_LIFETIME (NON),
/// with the encoded reply once there is one, so that a duplicate is answered from the cache and never
/// processed again (RFC 7252 §4.5). Bounded in entries; expired entries are swept periodically.
/// </summary>
/// <remarks>
/// A full cache first gives up the oldest entry if it is older than <c>evictableAfter</c> (MAX_TRANSMIT_SPAN by
/// default): a sender stops retransmitting after that span, so such an entry only guards against a copy the network
/// held back, which §4.5's "process once" cannot fully rule out anyway. Only when every entry is younger does the
/// cache refuse, so the sustained rate it admits is capacity / MAX_TRANSMIT_SPAN, not capacity / EXCHANGE_LIFETIME.
/// </remarks>
internal sealed class DeduplicationCache
{
    private readonly ConcurrentDictionary<PeerMessageKey, Entry> _entries = new();
    private readonly int _capacity;
    private readonly long _evictableAfter;

    // Arrival order, for evicting the oldest; it may hold entries already swept or replaced (skipped when met).
    private readonly Queue<(PeerMessageKey Key, Entry Entry)> _arrivals = new();
    private readonly Lock _arrivalsLock = new();

    // ConcurrentDictionary.Count takes every lock of the table; the receive path keeps its own count.
    private int _count;
    private long _evicted;

    /// <param name="capacity">The most entries held.</param>
    /// <param name="evictableAfter">Age (in <see cref="TimeProvider"/> timestamp ticks) after which a full cache may evict an entry; <see cref="long.MaxValue"/> never.</param>
    public DeduplicationCache(int capacity, long evictableAfter = long.MaxValue)
    {
        _capacity = capacity;
        _evictableAfter = evictableAfter;
    }

    public int Count => Volatile.Read(ref _count);

    /// <summary>Length of the arrival queue (live and not yet skipped entries); for tests.</summary>
    internal int QueuedArrivals
    {
        get
        {
            lock (_arrivalsLock)
            {
                return _arrivals.Count;
            }
        }
    }

    /// <summary>Entries given up early because the cache was full.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>
    /// Adds a fresh entry; false with the existing one when the key is a duplicate, or with null when
    /// the cache is full of entries too young to evict. An entry past its lifetime is no duplicate any
    /// more, even before a sweep.
    /// </summary>
    public bool TryAdd(PeerMessageKey key, long now, long expiresAt, out Entry? entry)
    {
        if (_entries.TryGetValue(key, out entry))
        {
            if (entry.ExpiresAt > now)
            {
                return false;
            }

            if (_entries.TryRemove(new KeyValuePair<PeerMessageKey, Entry>(key, entry)))
            {
                Interlocked.Decrement(ref _count);
            }
        }

        if (Volatile.Read(ref _count) >= _capacity && !TryEvictOldest(now))
        {
            entry = null;
            return false;
        }

        var fresh = new Entry(now, expiresAt);
        entry = _entries.GetOrAdd(key, fresh);
        if (!ReferenceEquals(entry, fresh))
        {
            return false;
        }

        Interlocked.Increment(ref _count);
        lock (_arrivalsLock)
        {
            _arrivals.Enqueue((key, fresh));
        }

        return true;
    }

    public void Sweep(long now)
    {
        foreach (var pair in _entries)
        {
            if (pair.Value.ExpiresAt <= now && _entries.TryRemove(pair))
            {
                Interlocked.Decrement(ref _count);
            }
        }

        // Drop the swept entries at the head of the arrival queue, so it stays proportional to the live entries.
        lock (_arrivalsLock)
        {
            while (_arrivals.TryPeek(out var head) && !IsLive(head))
            {
                _arrivals.Dequeue();
            }
        }
    }

    private bool TryEvictOldest(long now)
    {
        lock (_arrivalsLock)
        {
            while (_arrivals.TryPeek(out var head))
            {
                if (!IsLive(head))
                {
                    _arrivals.Dequeue();
                    continue;
                }

                if (now - head.Entry.CreatedAt < _evictableAfter)
                {
                    return false;
                }

                _arrivals.Dequeue();
                if (_entries.TryRemove(new KeyValuePair<PeerMessageKey, Entry>(head.Key, head.Entry)))
                {
                    Interlocked.Decrement(ref _count);
                    Interlocked.Increment(ref _evicted);
                    CoapMetrics.DeduplicationEvicted.Add(1);
                    return true;
                }
            }

            return false;
        }
    }

    private bool IsLive((PeerMessageKey Key, Entry Entry) item) =>
        _entries.TryGetValue(item.Key, out Entry? current) && ReferenceEquals(current, item.Entry);

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
