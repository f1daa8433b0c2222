using System.Net;

namespace CoapEnroll.Coap;

/// <summary>
/// Picks Request-Tag values for a client's Block1 operations (RFC 9175 §3.4, §3.5.2): the absent
/// option while no other Block1 operation to the same server is in flight — clients "are encouraged to
/// generate compact messages", and recycling the absent option is allowed once the earlier operation
/// has concluded — and otherwise the shortest value not in use by another operation to that server.
/// </summary>
/// <remarks>
/// A tag is released when its operation ends (final response received, or failure), which is when the
/// client regards it as concluded. Over DTLS, RFC 9175 §3.5.1 asks for more before a tag may be recycled
/// (no retransmission and server-side replay protection); this allocator cannot observe either.
/// </remarks>
internal sealed class RequestTagAllocator
{
    private const int Absent = -1;

    private readonly Dictionary<EndPoint, HashSet<int>> _inUse = [];
    private readonly Lock _lock = new();

    public Lease Acquire(EndPoint peer)
    {
        lock (_lock)
        {
            if (!_inUse.TryGetValue(peer, out var used))
            {
                used = [];
                _inUse[peer] = used;
            }

            int tag = Absent;
            while (used.Contains(tag))
            {
                tag++;
            }

            used.Add(tag);
            return new Lease(this, peer, tag);
        }
    }

    /// <summary>Operations holding a tag to <paramref name="peer"/> (for tests).</summary>
    public int InUse(EndPoint peer)
    {
        lock (_lock)
        {
            return _inUse.TryGetValue(peer, out var used) ? used.Count : 0;
        }
    }

    private void Release(EndPoint peer, int tag)
    {
        lock (_lock)
        {
            if (_inUse.TryGetValue(peer, out var used) && used.Remove(tag) && used.Count == 0)
            {
                _inUse.Remove(peer);
            }
        }
    }

    /// <summary>One operation's tag; dispose to release it.</summary>
    internal sealed class Lease(RequestTagAllocator owner, EndPoint peer, int tag) : IDisposable
    {
        private int _released;

        /// <summary>The option value, or null for the absent option.</summary>
        public byte[]? Value { get; } = tag == Absent ? null : Encode(tag);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Release(peer, tag);
            }
        }

        // Shortest big-endian form, at least one byte; 0..255 (the 2nd to 257th concurrent operation) take one byte.
        private static byte[] Encode(int tag)
        {
            int length = tag <= 0xFF ? 1 : tag <= 0xFFFF ? 2 : 4;
            var value = new byte[length];
            for (int i = length - 1; i >= 0; i--)
            {
                value[i] = (byte)tag;
                tag >>= 8;
            }

            return value;
        }
    }
}
