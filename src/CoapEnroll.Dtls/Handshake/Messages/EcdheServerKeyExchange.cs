using System.Diagnostics.CodeAnalysis;

namespace CoapEnroll.Dtls;

/// <summary>
/// ServerKeyExchange for ECDHE_ECDSA (RFC 8422 §5.4, RFC 5246 §7.4.3):
/// ServerECDHParams { ECParameters { curve_type = named_curve(3), namedcurve }, ECPoint public&lt;1..2^8-1&gt; }
/// followed by a digitally-signed struct: SignatureAndHashAlgorithm(2) and signature&lt;0..2^16-1&gt; (DER).
/// Parsing rejects explicit curves (curve_type 1, 2; deprecated by RFC 8422 §5.4); the caller checks the
/// group is secp256r1 and the point via <see cref="EcdheKeyExchange.TryDeriveSharedSecret"/>, and the
/// signature via <see cref="DtlsSignatures.VerifyServerKeyExchange"/> over <see cref="Parameters"/>.
/// </summary>
internal sealed class EcdheServerKeyExchange : HandshakeMessage
{
    private const byte NamedCurveType = 3;

    public override HandshakeType Type => HandshakeType.ServerKeyExchange;

    public NamedGroup Group { get; init; } = NamedGroup.Secp256r1;

    /// <summary>The public point as sent (uncompressed, 65 bytes for P-256).</summary>
    public byte[] PublicPoint { get; init; } = [];

    public SignatureScheme SignatureScheme { get; init; } = SignatureScheme.EcdsaSecp256r1Sha256;

    public byte[] Signature { get; init; } = [];

    /// <summary>The encoded ServerECDHParams: what the signature covers (after the two randoms).</summary>
    public byte[] Parameters => EncodeParameters(Group, PublicPoint);

    /// <summary>Encodes ServerECDHParams for signing before the message exists.</summary>
    public static byte[] EncodeParameters(NamedGroup group, ReadOnlySpan<byte> publicPoint)
    {
        var writer = new TlsWriter();
        writer.WriteUInt8(NamedCurveType);
        writer.WriteUInt16((ushort)group);
        writer.WriteVector(1, 1, byte.MaxValue, publicPoint);
        return writer.ToArray();
    }

    public static bool TryParse(ReadOnlySpan<byte> body, [NotNullWhen(true)] out EcdheServerKeyExchange? message)
    {
        message = null;
        var reader = new TlsReader(body);
        if (!reader.TryReadUInt8(out byte curveType) || curveType != NamedCurveType ||
            !reader.TryReadUInt16(out ushort group) ||
            !reader.TryReadVector(1, 1, byte.MaxValue, out ReadOnlySpan<byte> point) ||
            !reader.TryReadUInt16(out ushort scheme) ||
            !reader.TryReadVector(2, 0, ushort.MaxValue, out ReadOnlySpan<byte> signature) ||
            !reader.IsEmpty)
        {
            return false;
        }

        message = new EcdheServerKeyExchange
        {
            Group = (NamedGroup)group,
            PublicPoint = point.ToArray(),
            SignatureScheme = (SignatureScheme)scheme,
            Signature = signature.ToArray(),
        };
        return true;
    }

    private protected override void WriteBody(TlsWriter writer)
    {
        writer.WriteBytes(EncodeParameters(Group, PublicPoint));
        writer.WriteUInt16((ushort)SignatureScheme);
        writer.WriteVector(2, 0, ushort.MaxValue, Signature);
    }
}
