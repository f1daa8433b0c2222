using System.Diagnostics.CodeAnalysis;

namespace CoapEnroll.Dtls;

/// <summary>
/// Finished (RFC 5246 §7.4.9): verify_data[12] (verify_data_length is 12 for every suite here). Compare with
/// <see cref="DtlsKeySchedule.VerifyFinished"/> (constant time). The first Finished of a handshake is the
/// tls-unique channel binding (RFC 5929 §3.1): the client's in a full handshake.
/// </summary>
internal sealed class Finished : HandshakeMessage
{
    public override HandshakeType Type => HandshakeType.Finished;

    public byte[] VerifyData { get; init; } = new byte[DtlsKeySchedule.VerifyDataLength];

    public static bool TryParse(ReadOnlySpan<byte> body, [NotNullWhen(true)] out Finished? message)
    {
        message = body.Length == DtlsKeySchedule.VerifyDataLength ? new Finished { VerifyData = body.ToArray() } : null;
        return message is not null;
    }

    private protected override void WriteBody(TlsWriter writer)
    {
        ClientHello.CheckLength(VerifyData, DtlsKeySchedule.VerifyDataLength);
        writer.WriteBytes(VerifyData);
    }
}
