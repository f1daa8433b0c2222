using System.Diagnostics.CodeAnalysis;

namespace CoapEnroll.Dtls;

/// <summary>
/// ClientKeyExchange for plain PSK (RFC 4279 §2): psk_identity&lt;0..2^16-1&gt;. RFC 4279 §5.1 wants UTF-8
/// identities, but they are matched as opaque bytes here; an empty identity is well formed and must be
/// answered with unknown_psk_identity by the lookup.
/// </summary>
internal sealed class PskClientKeyExchange : HandshakeMessage
{
    public override HandshakeType Type => HandshakeType.ClientKeyExchange;

    public byte[] Identity { get; init; } = [];

    public static bool TryParse(ReadOnlySpan<byte> body, [NotNullWhen(true)] out PskClientKeyExchange? message)
    {
        message = null;
        var reader = new TlsReader(body);
        if (!reader.TryReadVector(2, 0, ushort.MaxValue, out ReadOnlySpan<byte> identity) || !reader.IsEmpty)
        {
            return false;
        }

        message = new PskClientKeyExchange { Identity = identity.ToArray() };
        return true;
    }

    private protected override void WriteBody(TlsWriter writer) => writer.WriteVector(2, 0, ushort.MaxValue, Identity);
}
