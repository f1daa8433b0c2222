using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>InfoTypeAndValue of generalInfo, genm and genp: the type OID and the value kept as DER.</summary>
public sealed class InfoTypeAndValue
{
    /// <summary>id-it-implicitConfirm (1.3.6.1.5.5.7.4.13), value NULL.</summary>
    public const string ImplicitConfirmOid = "1.3.6.1.5.5.7.4.13";

    /// <summary>id-it-confirmWaitTime (1.3.6.1.5.5.7.4.14), value GeneralizedTime.</summary>
    public const string ConfirmWaitTimeOid = "1.3.6.1.5.5.7.4.14";

    /// <summary>The infoType object identifier, dotted.</summary>
    public required string InfoType { get; init; }

    /// <summary>The DER of infoValue, or <see langword="null"/> when absent.</summary>
    public ReadOnlyMemory<byte>? Value { get; init; }

    /// <summary>The implicitConfirm entry.</summary>
    public static InfoTypeAndValue ImplicitConfirm()
    {
        var writer = new AsnWriter(CmpDer.Rules);
        writer.WriteNull();
        return new InfoTypeAndValue { InfoType = ImplicitConfirmOid, Value = writer.Encode() };
    }

    /// <summary>A confirmWaitTime entry.</summary>
    public static InfoTypeAndValue ConfirmWaitTime(DateTimeOffset time)
    {
        var writer = new AsnWriter(CmpDer.Rules);
        writer.WriteGeneralizedTime(time, omitFractionalSeconds: true);
        return new InfoTypeAndValue { InfoType = ConfirmWaitTimeOid, Value = writer.Encode() };
    }

    internal static InfoTypeAndValue Read(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        string oid = seq.ReadObjectIdentifier();
        ReadOnlyMemory<byte>? value = seq.HasData ? (ReadOnlyMemory<byte>?)seq.ReadEncodedValue() : null;
        seq.ThrowIfNotEmpty();
        return new InfoTypeAndValue { InfoType = oid, Value = value };
    }

    internal static IReadOnlyList<InfoTypeAndValue> ReadList(AsnReader reader, string field, bool nonEmpty, Asn1Tag? tag = null)
    {
        AsnReader seq = reader.ReadSequence(tag);
        var list = new List<InfoTypeAndValue>();
        while (seq.HasData)
        {
            list.Add(Read(seq));
        }

        return nonEmpty ? CmpDer.NonEmpty(list, field) : list;
    }

    internal static void WriteList(AsnWriter writer, IReadOnlyList<InfoTypeAndValue> list, Asn1Tag? tag = null)
    {
        writer.PushSequence(tag);
        foreach (InfoTypeAndValue item in list)
        {
            item.WriteTo(writer);
        }

        writer.PopSequence(tag);
    }

    internal void WriteTo(AsnWriter writer)
    {
        writer.PushSequence();
        writer.WriteObjectIdentifier(InfoType);
        if (Value is { } v)
        {
            writer.WriteEncodedValue(v.Span);
        }

        writer.PopSequence();
    }
}
