using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>CertRequest (RFC 4211 §5): certReqId, the template and the controls (kept as DER).</summary>
public sealed class CertRequest
{
    /// <summary>certReqId.</summary>
    public long CertReqId { get; init; }

    /// <summary>certTemplate.</summary>
    public required CertTemplate Template { get; init; }

    /// <summary>controls SEQUENCE SIZE (1..MAX) OF AttributeTypeAndValue, as DER.</summary>
    public ReadOnlyMemory<byte>? Controls { get; init; }

    /// <summary>The DER of this CertRequest as received: what a POPOSigningKey signature without poposkInput covers.</summary>
    public ReadOnlyMemory<byte>? ReceivedEncoding { get; private init; }

    /// <summary>The DER of this CertRequest: as received when decoded, else freshly encoded.</summary>
    public ReadOnlyMemory<byte> GetEncoded()
    {
        if (ReceivedEncoding is { } received)
        {
            return received;
        }

        var writer = new AsnWriter(CmpDer.Rules);
        WriteTo(writer);
        return writer.Encode();
    }

    internal static CertRequest Read(AsnReader reader)
    {
        ReadOnlyMemory<byte> encoded = reader.PeekEncodedValue();
        AsnReader seq = reader.ReadSequence();
        long id = CmpDer.ReadInt64(seq, "certReqId");
        CertTemplate template = CertTemplate.Read(seq);
        ReadOnlyMemory<byte>? controls = null;
        if (seq.HasData)
        {
            controls = seq.PeekEncodedValue();
            CmpDer.ReadRawSequenceOf(seq, "controls", nonEmpty: true);
        }

        seq.ThrowIfNotEmpty();
        return new CertRequest { CertReqId = id, Template = template, Controls = controls, ReceivedEncoding = encoded };
    }

    internal void WriteTo(AsnWriter writer)
    {
        writer.PushSequence();
        writer.WriteInteger(CertReqId);
        Template.WriteTo(writer);
        if (Controls is { } c)
        {
            writer.WriteEncodedValue(c.Span);
        }

        writer.PopSequence();
    }
}
