using System.Collections.Concurrent;

namespace CoapEnroll.Coap;

/// <summary>
/// Remembers received (peer, message ID) pairs for EXCHANGE_LIFETIME (CON) or NON_LIFETIME (NON),
/// with the encoded reply once there is one, so that a duplicate is answered from the cache and never
/// processed again (RFC 7252 §4.5). Bounded in entries; expired entries are swept periodically.
/// </summary>
internal sealed class DeduplicationCache
{
    private readonly ConcurrentDictionary<PeerMessageKey, Entry> _entries = new();
    private readonly int _capacity;

    // ConcurrentDictionary.Count takes every lock of the table; the receive path keeps its own count.
    private int _count;

    public DeduplicationCache(int capacity) => _capacity = capacity;

    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// Adds a fresh entry; false with the existing one when the key is a duplicate, or with null when
    /// the cache is full. An entry past its lifetime is no duplicate any more, even before a sweep.
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

        if (Volatile.Read(ref _count) >= _capacity)
        {
            entry = null;
            return false;
        }

        var fresh = new Entry(expiresAt);
        entry = _entries.GetOrAdd(key, fresh);
        if (!ReferenceEquals(entry, fresh))
        {
            return false;
        }

        Interlocked.Increment(ref _count);
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
    }

    internal sealed class Entry(long expiresAt)
    {
        private byte[]? _reply;

        public long ExpiresAt { get; } = expiresAt;

        /// <summary>The last reply sent for the message (piggybacked response, empty ACK or RST); null while in progress.</summary>
        public byte[]? Reply
        {
            get => Volatile.Read(ref _reply);
            set => Volatile.Write(ref _reply, value);
        }
    }
}
