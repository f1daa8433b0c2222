using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace CoapEnroll.Dtls;

/// <summary>
/// Stateless HelloVerifyRequest cookies (RFC 6347 §4.2.1): cookie = HMAC-SHA256(secret, client address ||
/// port || ClientHello body without the cookie field) — i.e. it binds client_version, random, session_id,
/// cipher_suites, compression_methods and extensions. The secret is rotated every
/// <c>rotationInterval</c>; cookies made with the previous secret are still accepted, so a cookie lives
/// between one and two intervals. Verification is constant time. Needs no per-peer state: call
/// <see cref="Verify"/> on every ClientHello before allocating anything, and answer a failure with a
/// HelloVerifyRequest carrying <see cref="CreateCookie"/> (sent once, never retransmitted by the server).
/// Thread-safe. What it cannot do: it does not stop a client from reusing a valid cookie within its
/// lifetime from the same address (RFC 6347 §4.2.1 accepts that), and it proves only return routability.
/// </summary>
internal sealed class HelloCookieProtector : IDisposable
{
    /// <summary>Cookie length (full HMAC-SHA256).</summary>
    public const int CookieLength = 32;

    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _rotationInterval;
    private readonly Lock _lock = new();
    private byte[] _current = RandomNumberGenerator.GetBytes(32);
    private byte[] _previous = RandomNumberGenerator.GetBytes(32);
    private long _rotatedAt;

    public HelloCookieProtector(TimeSpan rotationInterval, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(rotationInterval, TimeSpan.Zero);
        _rotationInterval = rotationInterval;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _rotatedAt = _timeProvider.GetTimestamp();
    }

    /// <summary>
    /// Computes the cookie for <paramref name="client"/> and a raw ClientHello body (its own cookie field is
    /// skipped). False if the body is too malformed to locate the cookie field.
    /// </summary>
    public bool TryCreateCookie(IPEndPoint client, ReadOnlySpan<byte> clientHelloBody, Span<byte> cookie)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (cookie.Length < CookieLength)
        {
            throw new ArgumentException("Destination too small.", nameof(cookie));
        }

        if (!ClientHello.TryLocateCookie(clientHelloBody, out int offset, out int length))
        {
            return false;
        }

        Compute(CurrentSecret(), client, clientHelloBody, offset, length, cookie);
        return true;
    }

    /// <summary>Allocating form of <see cref="TryCreateCookie"/>; throws on a malformed body.</summary>
    public byte[] CreateCookie(IPEndPoint client, ReadOnlySpan<byte> clientHelloBody)
    {
        byte[] cookie = new byte[CookieLength];
        if (!TryCreateCookie(client, clientHelloBody, cookie))
        {
            throw new ArgumentException("Malformed ClientHello.", nameof(clientHelloBody));
        }

        return cookie;
    }

    /// <summary>
    /// True when the ClientHello body carries a cookie this instance made (current or previous secret) for
    /// this address and these ClientHello parameters.
    /// </summary>
    public bool Verify(IPEndPoint client, ReadOnlySpan<byte> clientHelloBody)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (!ClientHello.TryLocateCookie(clientHelloBody, out int offset, out int length) || length != CookieLength)
        {
            return false;
        }

        ReadOnlySpan<byte> received = clientHelloBody.Slice(offset, length);
        byte[] current;
        byte[] previous;
        lock (_lock)
        {
            RotateIfDue();
            current = _current;
            previous = _previous;
        }

        Span<byte> expected = stackalloc byte[CookieLength];
        Compute(current, client, clientHelloBody, offset, length, expected);
        bool ok = CryptographicOperations.FixedTimeEquals(expected, received);
        Compute(previous, client, clientHelloBody, offset, length, expected);
        ok |= CryptographicOperations.FixedTimeEquals(expected, received);
        return ok;
    }

    /// <summary>Forces a rotation now (e.g. on suspicion of secret exposure).</summary>
    public void Rotate()
    {
        lock (_lock)
        {
            RotateLocked();
        }
    }

    private byte[] CurrentSecret()
    {
        lock (_lock)
        {
            RotateIfDue();
            return _current;
        }
    }

    private void RotateIfDue()
    {
        if (_timeProvider.GetElapsedTime(_rotatedAt) >= _rotationInterval)
        {
            RotateLocked();
        }
    }

    private void RotateLocked()
    {
        // Old arrays may still be in use by a concurrent Compute; they are replaced, not cleared in place.
        _previous = _current;
        _current = RandomNumberGenerator.GetBytes(32);
        _rotatedAt = _timeProvider.GetTimestamp();
    }

    private static void Compute(byte[] secret, IPEndPoint client, ReadOnlySpan<byte> body, int cookieOffset, int cookieLength, Span<byte> output)
    {
        using IncrementalHash hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secret);
        Span<byte> address = stackalloc byte[1 + 16 + 2];
        IPAddress ip = client.Address.IsIPv4MappedToIPv6 ? client.Address.MapToIPv4() : client.Address;
        address[0] = ip.AddressFamily == AddressFamily.InterNetwork ? (byte)4 : (byte)6;
        if (!ip.TryWriteBytes(address[1..17], out int written))
        {
            throw new ArgumentException("Unsupported address.", nameof(client));
        }

        BinaryPrimitives.WriteUInt16BigEndian(address[(1 + written)..], (ushort)client.Port);
        hmac.AppendData(address[..(1 + written + 2)]);
        // The body minus the cookie (its length byte included): the fields before it, then after it.
        hmac.AppendData(body[..(cookieOffset - 1)]);
        hmac.AppendData(body[(cookieOffset + cookieLength)..]);
        hmac.GetHashAndReset(output[..CookieLength]);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock)
        {
            CryptographicOperations.ZeroMemory(_current);
            CryptographicOperations.ZeroMemory(_previous);
        }
    }
}
