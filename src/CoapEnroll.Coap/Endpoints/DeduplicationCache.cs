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

    public DeduplicationCache(int capacity) => _capacity = capacity;

    public int Count => _entries.Count;

    /// <summary>Adds a fresh entry; false with the existing one when the key is a duplicate, or with null when the cache is full.</summary>
    public bool TryAdd(PeerMessageKey key, long expiresAt, out Entry? entry)
    {
        if (_entries.TryGetValue(key, out entry))
        {
            return false;
        }

        if (_entries.Count >= _capacity)
        {
            entry = null;
            return false;
        }

        var fresh = new Entry(expiresAt);
        entry = _entries.GetOrAdd(key, fresh);
        return ReferenceEquals(entry, fresh);
    }

    public void Sweep(long now)
    {
        foreach (var pair in _entries)
        {
            if (pair.Value.ExpiresAt <= now)
            {
                _entries.TryRemove(pair);
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
