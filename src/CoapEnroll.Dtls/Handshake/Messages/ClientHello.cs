using System.Diagnostics.CodeAnalysis;

namespace CoapEnroll.Dtls;

/// <summary>
/// ClientHello (RFC 6347 §4.2.1 / RFC 5246 §7.4.1.2):
/// client_version, random[32], session_id&lt;0..32&gt;, cookie&lt;0..2^8-1&gt;, cipher_suites&lt;2..2^16-2&gt;,
/// compression_methods&lt;1..2^8-1&gt;, [extensions&lt;0..2^16-1&gt;]. Parsing requires the null compression
/// method to be offered (RFC 5246 §7.4.1.2). Unknown cipher suites are kept as raw enum values.
/// </summary>
internal sealed class ClientHello : HandshakeMessage
{
    public override HandshakeType Type => HandshakeType.ClientHello;

    public ushort ClientVersion { get; init; } = DtlsVersion.Dtls12;

    public byte[] Random { get; init; } = new byte[DtlsKeySchedule.RandomLength];

    public byte[] SessionId { get; init; } = [];

    /// <summary>Empty in ClientHello1, the server's cookie in ClientHello2.</summary>
    public byte[] Cookie { get; init; } = [];

    public IReadOnlyList<CipherSuite> CipherSuites { get; init; } = [];

    public byte[] CompressionMethods { get; init; } = [0];

    public IReadOnlyList<TlsExtension> Extensions { get; init; } = [];

    public static bool TryParse(ReadOnlySpan<byte> body, [NotNullWhen(true)] out ClientHello? message)
    {
        message = null;
        var reader = new TlsReader(body);
        if (!reader.TryReadUInt16(out ushort version) ||
            !reader.TryReadBytes(DtlsKeySchedule.RandomLength, out ReadOnlySpan<byte> random) ||
            !reader.TryReadVector(1, 0, 32, out ReadOnlySpan<byte> sessionId) ||
            !reader.TryReadVector(1, 0, byte.MaxValue, out ReadOnlySpan<byte> cookie) ||
            !TlsExtensions.TryReadUInt16Vector(ref reader, 2, ushort.MaxValue - 1, out ushort[]? suites) ||
            !reader.TryReadVector(1, 1, byte.MaxValue, out ReadOnlySpan<byte> compression) ||
            !compression.Contains((byte)0) ||
            !TlsExtension.TryReadList(ref reader, out List<TlsExtension>? extensions))
        {
            return false;
        }

        message = new ClientHello
        {
            ClientVersion = version,
            Random = random.ToArray(),
            SessionId = sessionId.ToArray(),
            Cookie = cookie.ToArray(),
            CipherSuites = suites.Select(s => (CipherSuite)s).ToArray(),
            CompressionMethods = compression.ToArray(),
            Extensions = extensions,
        };
        return true;
    }

    /// <summary>
    /// Locates the cookie field in a raw ClientHello body without parsing the rest: the stateless cookie
    /// check (<see cref="HelloCookieProtector"/>) runs before anything else is trusted.
    /// </summary>
    internal static bool TryLocateCookie(ReadOnlySpan<byte> body, out int cookieOffset, out int cookieLength)
    {
        cookieOffset = 0;
        cookieLength = 0;
        var reader = new TlsReader(body);
        if (!reader.TryReadBytes(2 + DtlsKeySchedule.RandomLength, out _) || !reader.TryReadVector(1, 0, 32, out _))
        {
            return false;
        }

        int lengthOffset = body.Length - reader.Remaining;
        if (!reader.TryReadVector(1, 0, byte.MaxValue, out ReadOnlySpan<byte> cookie))
        {
            return false;
        }

        cookieOffset = lengthOffset + 1;
        cookieLength = cookie.Length;
        return true;
    }

    private protected override void WriteBody(TlsWriter writer)
    {
        CheckLength(Random, DtlsKeySchedule.RandomLength);
        writer.WriteUInt16(ClientVersion);
        writer.WriteBytes(Random);
        writer.WriteVector(1, 0, 32, SessionId);
        writer.WriteVector(1, 0, byte.MaxValue, Cookie);
        TlsExtensions.WriteUInt16Vector(writer, CipherSuites.Select(s => (ushort)s), 2, ushort.MaxValue - 1);
        writer.WriteVector(1, 1, byte.MaxValue, CompressionMethods);
        TlsExtension.WriteList(writer, Extensions);
    }

    internal static void CheckLength(byte[] value, int length)
    {
        if (value.Length != length)
        {
            throw new InvalidOperationException($"Field must be {length} bytes.");
        }
    }
}
