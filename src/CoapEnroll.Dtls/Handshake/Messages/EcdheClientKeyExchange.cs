using System.Diagnostics.CodeAnalysis;

namespace CoapEnroll.Dtls;

/// <summary>
/// ClientKeyExchange for ECDHE (RFC 8422 §5.7): ClientECDiffieHellmanPublic { ECPoint ecdh_Yc&lt;1..2^8-1&gt; }.
/// The point is validated by <see cref="EcdheKeyExchange.TryDeriveSharedSecret"/>, not here.
/// </summary>
internal sealed class EcdheClientKeyExchange : HandshakeMessage
{
    public override HandshakeType Type => HandshakeType.ClientKeyExchange;

    public byte[] PublicPoint { get; init; } = [];

    public static bool TryParse(ReadOnlySpan<byte> body, [NotNullWhen(true)] out EcdheClientKeyExchange? message)
    {
        message = null;
        var reader = new TlsReader(body);
        if (!reader.TryReadVector(1, 1, byte.MaxValue, out ReadOnlySpan<byte> point) || !reader.IsEmpty)
        {
            return false;
        }

        message = new EcdheClientKeyExchange { PublicPoint = point.ToArray() };
        return true;
    }

    private protected override void WriteBody(TlsWriter writer) => writer.WriteVector(1, 1, byte.MaxValue, PublicPoint);
}
