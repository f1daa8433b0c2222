namespace CoapEnroll.Dtls;

/// <summary>
/// Compares connection IDs by content, and lets a table keyed by <c>byte[]</c> be searched with the CID span of
/// a received record (<see cref="Dictionary{TKey, TValue}.GetAlternateLookup{TAlternateKey}"/>), so routing a
/// datagram by CID allocates nothing. Works for any CID length. The hash is <see cref="HashCode"/>, seeded per
/// process; the CIDs in a table are ours and random anyway, so a peer cannot choose colliding keys.
/// </summary>
internal sealed class ConnectionIdComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static ConnectionIdComparer Instance { get; } = new();

    public bool Equals(byte[]? x, byte[]? y) =>
        ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y));

    public int GetHashCode(byte[] obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return GetHashCode((ReadOnlySpan<byte>)obj);
    }

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<byte> alternate)
    {
        var hash = new HashCode();
        hash.AddBytes(alternate);
        return hash.ToHashCode();
    }

    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
}
