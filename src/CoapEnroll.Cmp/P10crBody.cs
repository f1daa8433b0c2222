using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>p10cr: a PKCS #10 CertificationRequest, kept as its DER.</summary>
public sealed class P10crBody : PkiBody
{
    /// <inheritdoc/>
    public override PkiBodyType BodyType => PkiBodyType.P10cr;

    /// <summary>The CertificationRequest's DER.</summary>
    public required ReadOnlyMemory<byte> CertificationRequest { get; init; }

    private protected override void WriteContent(AsnWriter writer) => writer.WriteEncodedValue(CertificationRequest.Span);
}
