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
/// <para>
/// Entries are queued in arrival order, one queue per lifetime (an endpoint uses two: EXCHANGE_LIFETIME and
/// NON_LIFETIME). In a queue whose entries arrived in time order they also expire in order, so a sweep removes the
/// expired entries from the queue heads and stops at the first live one: its cost follows the entries that expire,
/// not all the entries held. A queue whose order was broken (a timestamp earlier than its predecessor's) makes the
/// sweep scan every entry instead, as does a lifetime beyond the first few.
/// </para>
/// <para>
/// One lock guards the table and the queues. Its users are the receive loop (one TryAdd per message) and the
/// periodic sweep, which gives the lock up every <see cref="SweepBatch"/> entries. A plain dictionary keeps its
/// entries in one array, where a concurrent one allocates a node per entry: the entries live for EXCHANGE_LIFETIME,
/// so every node would be one more object for the GC to promote and trace.
/// </para>
/// </remarks>
internal sealed class DeduplicationCache
{
    /// <summary>The most entries a sweep removes before it lets a waiting TryAdd in.</summary>
    internal const int SweepBatch = 1024;

    // Distinct lifetimes that get a queue of their own; further ones share a queue that is swept by a full scan.
    private const int MaxLifetimeQueues = 8;

    private readonly Dictionary<PeerMessageKey, Entry> _entries = [];
    private readonly int _capacity;
    private readonly long _evictableAfter;

    // Arrival order per lifetime, for sweeping and for evicting the oldest; a queue may hold entries already
    // removed or replaced (skipped when met).
    private readonly List<ArrivalQueue> _queues = [];
    private readonly Lock _lock = new();
    private long _sequence;
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

    /// <summary>Length of the arrival queues (live and not yet skipped entries); for tests.</summary>
    internal int QueuedArrivals
    {
        get
        {
            lock (_lock)
            {
                return _queues.Sum(q => q.Arrivals.Count);
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
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out entry))
            {
                if (entry.ExpiresAt > now)
                {
                    return false;
                }

                RemoveLocked(key);
            }

            if (_entries.Count >= _capacity && !TryEvictOldestLocked(now))
            {
                entry = null;
                return false;
            }

            entry = new Entry(now, expiresAt);
            _entries.Add(key, entry);
            Volatile.Write(ref _count, _entries.Count);
            GetQueueLocked(expiresAt - now).Enqueue(new Arrival(key, entry, _sequence++));
            return true;
        }
    }

    /// <summary>Removes every entry expired at <paramref name="now"/>.</summary>
    public void Sweep(long now)
    {
        bool scanAll = false;
        for (int i = 0; ; i++)
        {
            lock (_lock)
            {
                if (i >= _queues.Count)
                {
                    break;
                }

                ArrivalQueue queue = _queues[i];

                // Expired or dead entries at the head go; in an ordered queue the first live entry that has not
                // expired ends the sweep of that queue, as every later one expires no earlier.
                int removed = 0;
                while (removed < SweepBatch && queue.Arrivals.TryPeek(out Arrival head) && (head.Entry.ExpiresAt <= now || !IsLiveLocked(head)))
                {
                    queue.Arrivals.Dequeue();
                    if (IsLiveLocked(head))
                    {
                        RemoveLocked(head.Key);
                    }

                    removed++;
                }

                if (removed == SweepBatch)
                {
                    // Let the receive loop in, then go on with this queue.
                    i--;
                    continue;
                }

                if (queue.Arrivals.Count == 0)
                {
                    _queues.RemoveAt(i--);
                }
                else
                {
                    scanAll |= !queue.Ordered;
                }
            }
        }

        if (scanAll)
        {
            // Some queue is out of order: expired entries may sit behind live ones. (Those stay queued until they
            // reach a head, skipped as dead then.)
            lock (_lock)
            {
                foreach (var pair in _entries)
                {
                    if (pair.Value.ExpiresAt <= now)
                    {
                        RemoveLocked(pair.Key);
                    }
                }
            }
        }
    }

    private void RemoveLocked(PeerMessageKey key)
    {
        _entries.Remove(key);
        Volatile.Write(ref _count, _entries.Count);
    }

    private ArrivalQueue GetQueueLocked(long lifetime)
    {
        foreach (ArrivalQueue queue in _queues)
        {
            if (queue.Lifetime == lifetime)
            {
                return queue;
            }
        }

        if (_queues.Count >= MaxLifetimeQueues)
        {
            // One more lifetime than expected: into the last queue, which is then swept by a full scan.
            return _queues[^1];
        }

        var added = new ArrivalQueue(lifetime);
        _queues.Add(added);
        return added;
    }

    private bool TryEvictOldestLocked(long now)
    {
        // The oldest live arrival is at the head of one of the queues.
        ArrivalQueue? oldestQueue = null;
        Arrival oldest = default;
        foreach (ArrivalQueue queue in _queues)
        {
            while (queue.Arrivals.TryPeek(out Arrival head) && !IsLiveLocked(head))
            {
                queue.Arrivals.Dequeue();
            }

            if (queue.Arrivals.TryPeek(out Arrival first) && (oldestQueue is null || first.Sequence < oldest.Sequence))
            {
                oldestQueue = queue;
                oldest = first;
            }
        }

        if (oldestQueue is null || now - oldest.Entry.CreatedAt < _evictableAfter)
        {
            return false;
        }

        oldestQueue.Arrivals.Dequeue();
        RemoveLocked(oldest.Key);
        Interlocked.Increment(ref _evicted);
        CoapMetrics.DeduplicationEvicted.Add(1);
        return true;
    }

    private bool IsLiveLocked(Arrival arrival) =>
        _entries.TryGetValue(arrival.Key, out Entry? current) && ReferenceEquals(current, arrival.Entry);

    private readonly record struct Arrival(PeerMessageKey Key, Entry Entry, long Sequence);

    /// <summary>The arrivals of one lifetime, in arrival order; ordered while their expiry times never decrease.</summary>
    private sealed class ArrivalQueue(long lifetime)
    {
        private long _lastExpiresAt = long.MinValue;

        public long Lifetime { get; } = lifetime;

        public Queue<Arrival> Arrivals { get; } = new();

        /// <summary>False once an entry expiring earlier than the one before it was queued, until the queue empties.</summary>
        public bool Ordered { get; private set; } = true;

        public void Enqueue(Arrival arrival)
        {
            if (arrival.Entry.ExpiresAt < _lastExpiresAt)
            {
                Ordered = false;
            }

            _lastExpiresAt = Math.Max(_lastExpiresAt, arrival.Entry.ExpiresAt);
            Arrivals.Enqueue(arrival);
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
