using System.Diagnostics.CodeAnalysis;

namespace CoapEnroll.Dtls;

/// <summary>
/// ServerHello (RFC 5246 §7.4.1.3): server_version, random[32], session_id&lt;0..32&gt;, cipher_suite,
/// compression_method, [extensions&lt;0..2^16-1&gt;]. Parsing accepts any suite/compression value; the client
/// checks they are among what it offered (and compression is null).
/// </summary>
internal sealed class ServerHello : HandshakeMessage
{
    public override HandshakeType Type => HandshakeType.ServerHello;

    public ushort ServerVersion { get; init; } = DtlsVersion.Dtls12;

    public byte[] Random { get; init; } = new byte[DtlsKeySchedule.RandomLength];

    public byte[] SessionId { get; init; } = [];

    public CipherSuite CipherSuite { get; init; }

    public byte CompressionMethod { get; init; }

    public IReadOnlyList<TlsExtension> Extensions { get; init; } = [];

    public static bool TryParse(ReadOnlySpan<byte> body, [NotNullWhen(true)] out ServerHello? message)
    {
        message = null;
        var reader = new TlsReader(body);
        if (!reader.TryReadUInt16(out ushort version) ||
            !reader.TryReadBytes(DtlsKeySchedule.RandomLength, out ReadOnlySpan<byte> random) ||
            !reader.TryReadVector(1, 0, 32, out ReadOnlySpan<byte> sessionId) ||
            !reader.TryReadUInt16(out ushort suite) ||
            !reader.TryReadUInt8(out byte compression) ||
            !TlsExtension.TryReadList(ref reader, out List<TlsExtension>? extensions))
        {
            return false;
        }

        message = new ServerHello
        {
            ServerVersion = version,
            Random = random.ToArray(),
            SessionId = sessionId.ToArray(),
            CipherSuite = (CipherSuite)suite,
            CompressionMethod = compression,
            Extensions = extensions,
        };
        return true;
    }

    private protected override void WriteBody(TlsWriter writer)
    {
        ClientHello.CheckLength(Random, DtlsKeySchedule.RandomLength);
        writer.WriteUInt16(ServerVersion);
        writer.WriteBytes(Random);
        writer.WriteVector(1, 0, 32, SessionId);
        writer.WriteUInt16((ushort)CipherSuite);
        writer.WriteUInt8(CompressionMethod);
        TlsExtension.WriteList(writer, Extensions);
    }
}
