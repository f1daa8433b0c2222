using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>A body alternative the codec does not decode; kept whole so a server can answer badRequest instead of refusing the message.</summary>
public sealed class UnsupportedBody : PkiBody
{
    internal UnsupportedBody(PkiBodyType bodyType, ReadOnlyMemory<byte> encoded)
    {
        BodyType = bodyType;
        Encoded = encoded;
    }

    /// <inheritdoc/>
    public override PkiBodyType BodyType { get; }

    /// <summary>The DER of the whole tagged body.</summary>
    public ReadOnlyMemory<byte> Encoded { get; }

    internal override void WriteTo(AsnWriter writer) => writer.WriteEncodedValue(Encoded.Span);

    private protected override void WriteContent(AsnWriter writer) => throw new InvalidOperationException("written whole");
}
