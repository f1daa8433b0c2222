using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>genm or genp: SEQUENCE OF InfoTypeAndValue.</summary>
public sealed class GenMsgBody : PkiBody
{
    /// <summary>A general message or response.</summary>
    public GenMsgBody(PkiBodyType bodyType)
    {
        if (bodyType is not (PkiBodyType.Genm or PkiBodyType.Genp))
        {
            throw new ArgumentOutOfRangeException(nameof(bodyType), bodyType, "not genm or genp");
        }

        BodyType = bodyType;
    }

    /// <inheritdoc/>
    public override PkiBodyType BodyType { get; }

    /// <summary>The entries.</summary>
    public required IReadOnlyList<InfoTypeAndValue> Items { get; init; }

    internal static GenMsgBody ReadContent(PkiBodyType type, AsnReader reader) =>
        new(type) { Items = InfoTypeAndValue.ReadList(reader, "GenMsgContent", nonEmpty: false) };

    private protected override void WriteContent(AsnWriter writer) => InfoTypeAndValue.WriteList(writer, Items);
}
