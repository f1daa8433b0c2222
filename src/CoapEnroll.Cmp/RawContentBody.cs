using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>A body whose value is kept as its DER (p10cr's CertificationRequest, rr, rp, certConf, pollReq, pollRep, ip/cp/kup until decoded further).</summary>
public sealed class RawContentBody : PkiBody
{
    /// <summary>A body of the given kind holding the DER of its value.</summary>
    public RawContentBody(PkiBodyType bodyType, ReadOnlyMemory<byte> content)
    {
        BodyType = bodyType;
        Content = content;
    }

    /// <inheritdoc/>
    public override PkiBodyType BodyType { get; }

    /// <summary>The DER of the value inside the explicit body tag.</summary>
    public ReadOnlyMemory<byte> Content { get; }

    private protected override void WriteContent(AsnWriter writer) => writer.WriteEncodedValue(Content.Span);
}
