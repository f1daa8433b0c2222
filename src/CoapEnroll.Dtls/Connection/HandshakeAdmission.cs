using System.Buffers.Binary;
using System.Net;

namespace CoapEnroll.Dtls;

/// <summary>
/// Counts the server connections still in their handshake, in total and per source address (an IPv4 address, or an IPv6
/// /64 since one host holds a whole /64), and decides whether a cookie-verified ClientHello may start one more. Not
/// thread-safe: the server channel calls it under its table lock. A connection is counted from its admission until it
/// is established or closed, whichever comes first.
/// </summary>
internal sealed class HandshakeAdmission(int maxHandshakes, int maxHandshakesPerAddress)
{
    private readonly Dictionary<DtlsServerConnection, UInt128> _handshaking = [];
    private readonly AddressCounts _perAddress = new();

    /// <summary>Connections in their handshake.</summary>
    public int Count => _handshaking.Count;

    /// <summary>Connections in their handshake from the address with <paramref name="key"/> (<see cref="AddressKey"/>).</summary>
    public int CountOf(UInt128 key) => _perAddress[key];

    /// <summary>The bound a new handshake from the address with <paramref name="key"/> would exceed, or <see cref="HandshakeBound.None"/>.</summary>
    public HandshakeBound Check(UInt128 key)
    {
        if (_perAddress[key] >= maxHandshakesPerAddress)
        {
            return HandshakeBound.Address;
        }

        return _handshaking.Count >= maxHandshakes ? HandshakeBound.Global : HandshakeBound.None;
    }

    /// <summary>Counts <paramref name="connection"/> under <paramref name="key"/>, admitted after <see cref="Check"/> found room.</summary>
    public void Add(DtlsServerConnection connection, UInt128 key)
    {
        _handshaking.Add(connection, key);
        _perAddress.Increment(key);
    }

    /// <summary>Stops counting <paramref name="connection"/>; false when it was not counted (any more).</summary>
    public bool Release(DtlsServerConnection connection)
    {
        if (!_handshaking.Remove(connection, out UInt128 key))
        {
            return false;
        }

        _perAddress.Decrement(key);
        return true;
    }

    /// <summary>Gives back the tables' memory after a peak of handshakes (<see cref="SparseTables"/>).</summary>
    public void TrimIfSparse(int minimumCapacity)
    {
        SparseTables.TrimIfSparse(_handshaking, minimumCapacity);
        _perAddress.TrimIfSparse(minimumCapacity);
    }

    /// <summary>An IPv4 address (also IPv4-mapped IPv6) whole; an IPv6 address by its /64 prefix.</summary>
    internal static UInt128 AddressKey(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            address = address.MapToIPv6();
        }

        address.TryWriteBytes(bytes, out _);
        UInt128 key = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        return address.IsIPv4MappedToIPv6 ? key : key & ((UInt128)ulong.MaxValue << 64);
    }
}
