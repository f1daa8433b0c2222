using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Enrollment;

/// <summary>
/// The positive decisions of <see cref="EnrollmentTrustPolicy.Evaluate"/>, keyed by the exact bytes of the certificates presented
/// (leaf first, each with its length), so that a device's second and later requests, in its session or in a later one, do not
/// build its path again: two <see cref="System.Security.Cryptography.X509Certificates.X509Chain"/> builds for a manufacturer
/// device (this CA's path is tried first), one for a device of this CA, each dearer than the proof of possession and the
/// certificate signature together. A decision is reused only while it would be the same:
/// <list type="bullet">
/// <item>only while the time is inside every validity period of the path that was built (leaf to trust anchor), so an expired or
/// not yet valid certificate is judged again, and refused; a manufacturer certificate accepted after it expired
/// (<see cref="EnrollmentTrustPolicy.AcceptExpiredManufacturerCertificates"/>) is therefore never reused;</item>
/// <item>for <see cref="EntryLifetime"/> at most, which bounds how long a change the policy cannot see (the platform's disallowed
/// store) goes unnoticed; the trust anchors and intermediates cannot change: they are those of the policy's
/// <see cref="CoapEnroll.Ca.CaHierarchy"/>, which is immutable.</item>
/// </list>
/// A refusal is never kept. What the store says (a certificate of this CA still active) is asked again for every request by the
/// caller: this cache holds only what the certificates chain to. Bounded by <see cref="Capacity"/>, oldest entries first.
/// </summary>
internal sealed class TrustDecisionCache
{
    /// <summary>How long a decision is reused at most.</summary>
    public static readonly TimeSpan EntryLifetime = TimeSpan.FromMinutes(5);

    /// <summary>The most chains remembered.</summary>
    public const int Capacity = 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<byte[], Entry> _entries = new(BytesComparer.Instance);
    private readonly Dictionary<byte[], Entry>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private readonly Queue<byte[]> _order = new();

    public TrustDecisionCache() => _lookup = _entries.GetAlternateLookup<ReadOnlySpan<byte>>();

    /// <summary>Entries held (for tests).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Decisions answered from the cache since it was created (for tests).</summary>
    public long Hits { get; private set; }

    /// <summary>The decision made for exactly <paramref name="presented"/> when it still holds at <paramref name="now"/>.</summary>
    public bool TryGet(IReadOnlyList<X509Certificate2> presented, DateTimeOffset now, out RequesterTrust trust)
    {
        trust = default;
        byte[] rented = ArrayPool<byte>.Shared.Rent(KeyLength(presented));
        try
        {
            ReadOnlySpan<byte> key = WriteKey(presented, rented);
            lock (_lock)
            {
                if (!_lookup.TryGetValue(key, out Entry? entry) || now < entry.NotBefore || now > entry.NotAfter
                    || now < entry.Added || now - entry.Added > EntryLifetime)
                {
                    return false; // a stale entry stays where it is: the queue removes it, or a fresh decision replaces it
                }

                Hits++;
                trust = entry.Trust;
                return true;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Remembers that <paramref name="presented"/> chained to <paramref name="trust"/> at <paramref name="now"/> along a path valid
    /// from <paramref name="notBefore"/> to <paramref name="notAfter"/>.
    /// </summary>
    public void Add(IReadOnlyList<X509Certificate2> presented, RequesterTrust trust, DateTimeOffset notBefore, DateTimeOffset notAfter, DateTimeOffset now)
    {
        if (notBefore > now || now > notAfter)
        {
            return; // a decision that ignored the time (an expired manufacturer certificate) is made again every time
        }

        byte[] key = new byte[KeyLength(presented)];
        WriteKey(presented, key);
        var entry = new Entry(trust, notBefore, notAfter, now);
        lock (_lock)
        {
            if (_entries.ContainsKey(key))
            {
                _entries[key] = entry; // a fresh decision for a known chain: the key keeps its place in the queue
                return;
            }

            while (_entries.Count >= Capacity && _order.TryDequeue(out byte[]? oldest))
            {
                _entries.Remove(oldest);
            }

            _entries.Add(key, entry);
            _order.Enqueue(key);
        }
    }

    private static int KeyLength(IReadOnlyList<X509Certificate2> presented)
    {
        int length = 0;
        for (int i = 0; i < presented.Count; i++)
        {
            length += sizeof(int) + presented[i].RawDataMemory.Length;
        }

        return length;
    }

    // Each certificate's DER preceded by its length, so that no two different lists of certificates give the same key.
    private static ReadOnlySpan<byte> WriteKey(IReadOnlyList<X509Certificate2> presented, Span<byte> destination)
    {
        int at = 0;
        for (int i = 0; i < presented.Count; i++)
        {
            ReadOnlySpan<byte> der = presented[i].RawDataMemory.Span;
            BinaryPrimitives.WriteInt32BigEndian(destination[at..], der.Length);
            der.CopyTo(destination[(at + sizeof(int))..]);
            at += sizeof(int) + der.Length;
        }

        return destination[..at];
    }

    private sealed record Entry(RequesterTrust Trust, DateTimeOffset NotBefore, DateTimeOffset NotAfter, DateTimeOffset Added);

    private sealed class BytesComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly BytesComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x is null ? y is null : y is not null && x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var hash = new HashCode();
            hash.AddBytes(alternate);
            return hash.ToHashCode();
        }

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
