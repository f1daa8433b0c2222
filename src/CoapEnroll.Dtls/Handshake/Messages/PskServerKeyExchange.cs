using System.Diagnostics.CodeAnalysis;

namespace CoapEnroll.Dtls;

/// <summary>
/// ServerKeyExchange for plain PSK (RFC 4279 §2): psk_identity_hint&lt;0..2^16-1&gt;. Optional: a server
/// without a hint omits the message entirely (RFC 7925 §4.2 recommends no hint).
/// </summary>
internal sealed class PskServerKeyExchange : HandshakeMessage
{
    public override HandshakeType Type => HandshakeType.ServerKeyExchange;

    public byte[] IdentityHint { get; init; } = [];

    public static bool TryParse(ReadOnlySpan<byte> body, [NotNullWhen(true)] out PskServerKeyExchange? message)
    {
        message = null;
        var reader = new TlsReader(body);
        if (!reader.TryReadVector(2, 0, ushort.MaxValue, out ReadOnlySpan<byte> hint) || !reader.IsEmpty)
        {
            return false;
        }

        message = new PskServerKeyExchange { IdentityHint = hint.ToArray() };
        return true;
    }

    private protected override void WriteBody(TlsWriter writer) => writer.WriteVector(2, 0, ushort.MaxValue, IdentityHint);
}
