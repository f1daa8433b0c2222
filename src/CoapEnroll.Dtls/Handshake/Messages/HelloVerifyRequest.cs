using System.Diagnostics.CodeAnalysis;

namespace CoapEnroll.Dtls;

/// <summary>
/// HelloVerifyRequest (RFC 6347 §4.2.1): server_version, cookie&lt;0..2^8-1&gt;. RFC 6347 §4.2.1 says the
/// server_version should be DTLS 1.0 for compatibility; DTLS 1.2 is what peers send in practice and
/// clients must not use it for negotiation either way. Never part of the transcript.
/// </summary>
internal sealed class HelloVerifyRequest : HandshakeMessage
{
    public override HandshakeType Type => HandshakeType.HelloVerifyRequest;

    public ushort ServerVersion { get; init; } = DtlsVersion.Dtls12;

    public byte[] Cookie { get; init; } = [];

    public static bool TryParse(ReadOnlySpan<byte> body, [NotNullWhen(true)] out HelloVerifyRequest? message)
    {
        message = null;
        var reader = new TlsReader(body);
        if (!reader.TryReadUInt16(out ushort version) || !reader.TryReadVector(1, 0, byte.MaxValue, out ReadOnlySpan<byte> cookie) ||
            !reader.IsEmpty)
        {
            return false;
        }

        message = new HelloVerifyRequest { ServerVersion = version, Cookie = cookie.ToArray() };
        return true;
    }

    private protected override void WriteBody(TlsWriter writer)
    {
        writer.WriteUInt16(ServerVersion);
        writer.WriteVector(1, 0, byte.MaxValue, Cookie);
    }
}
