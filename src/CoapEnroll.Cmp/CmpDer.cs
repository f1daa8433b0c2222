using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>Shared DER reading and writing helpers of the codec.</summary>
internal static class CmpDer
{
    /// <summary><paramref name="time"/> in UTC without its fraction of a second: how this code writes GeneralizedTime (messageTime, confirmWaitTime).</summary>
    public static DateTimeOffset WholeSeconds(DateTimeOffset time) =>
        new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    public const AsnEncodingRules Rules = AsnEncodingRules.DER;

    public static Asn1Tag Ctx(int number) => new(TagClass.ContextSpecific, number);

    public static Asn1Tag CtxC(int number) => new(TagClass.ContextSpecific, number, isConstructed: true);

    public static CmpDecodeException Invalid(string reason) => new(CmpDecodeStatus.InvalidStructure, reason);

    public static bool PeekIs(AsnReader reader, Asn1Tag tag) =>
        reader.HasData && reader.PeekTag().HasSameClassAndValue(tag);

    public static bool PeekIsContext(AsnReader reader, int number) => PeekIs(reader, Ctx(number));

    public static long ReadInt64(AsnReader reader, string field, Asn1Tag? tag = null)
    {
        if (!reader.TryReadInt64(out long value, tag))
        {
            throw Invalid($"{field} does not fit in 64 bits");
        }

        return value;
    }

    public static int ReadInt32(AsnReader reader, string field, Asn1Tag? tag = null)
    {
        if (!reader.TryReadInt32(out int value, tag))
        {
            throw Invalid($"{field} does not fit in 32 bits");
        }

        return value;
    }

    /// <summary>Reads an EXPLICIT [n] wrapper that must hold exactly one value, and returns that value's encoding.</summary>
    public static ReadOnlyMemory<byte> ReadExplicitValue(AsnReader reader, int number)
    {
        AsnReader inner = reader.ReadSequence(Ctx(number));
        ReadOnlyMemory<byte> value = inner.ReadEncodedValue();
        inner.ThrowIfNotEmpty();
        return value;
    }

    public static void WriteExplicitValue(AsnWriter writer, int number, ReadOnlyMemory<byte> value)
    {
        writer.PushSequence(CtxC(number));
        writer.WriteEncodedValue(value.Span);
        writer.PopSequence(CtxC(number));
    }

    /// <summary>Reads an IMPLICIT [n] SEQUENCE and returns it re-tagged as a universal SEQUENCE (same length and content).</summary>
    public static ReadOnlyMemory<byte> ReadImplicitSequence(AsnReader reader, int number)
    {
        ReadOnlyMemory<byte> value = reader.ReadEncodedValue();
        Asn1Tag tag = Asn1Tag.Decode(value.Span, out _);
        if (!tag.HasSameClassAndValue(Ctx(number)) || !tag.IsConstructed || number > 30)
        {
            throw new AsnContentException($"expected a constructed [{number}]");
        }

        byte[] copy = value.ToArray();
        copy[0] = 0x30;
        new AsnReader(copy, Rules).ReadSequence();
        return copy;
    }

    /// <summary>Writes a universal SEQUENCE encoding under an IMPLICIT [n] tag.</summary>
    public static void WriteImplicitSequence(AsnWriter writer, int number, ReadOnlyMemory<byte> sequence)
    {
        if (sequence.IsEmpty || sequence.Span[0] != 0x30 || number > 30)
        {
            throw new ArgumentException("value is not a SEQUENCE", nameof(sequence));
        }

        byte[] copy = sequence.ToArray();
        copy[0] = (byte)(0xA0 | number);
        writer.WriteEncodedValue(copy);
    }

    public static ReadOnlyMemory<byte> ReadOctetString(AsnReader reader, Asn1Tag? tag = null) =>
        reader.ReadOctetString(tag);

    /// <summary>Reads a BIT STRING that must carry whole octets (signatures, MACs).</summary>
    public static byte[] ReadOctetAlignedBitString(AsnReader reader, string field, Asn1Tag? tag = null)
    {
        byte[] value = reader.ReadBitString(out int unusedBits, tag);
        if (unusedBits != 0)
        {
            throw Invalid($"{field} has {unusedBits} unused bits");
        }

        return value;
    }

    /// <summary>PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String.</summary>
    public static IReadOnlyList<string> ReadFreeText(AsnReader reader, string field, Asn1Tag? tag = null)
    {
        AsnReader seq = reader.ReadSequence(tag);
        var list = new List<string>();
        while (seq.HasData)
        {
            list.Add(seq.ReadCharacterString(UniversalTagNumber.UTF8String));
        }

        return NonEmpty(list, field);
    }

    public static void WriteFreeText(AsnWriter writer, IReadOnlyList<string> text, Asn1Tag? tag = null)
    {
        writer.PushSequence(tag);
        foreach (string s in text)
        {
            writer.WriteCharacterString(UniversalTagNumber.UTF8String, s);
        }

        writer.PopSequence(tag);
    }

    /// <summary>Reads a SEQUENCE OF any values, keeping each element's encoding.</summary>
    public static IReadOnlyList<ReadOnlyMemory<byte>> ReadRawSequenceOf(AsnReader reader, string field, bool nonEmpty, Asn1Tag? tag = null)
    {
        AsnReader seq = reader.ReadSequence(tag);
        var list = new List<ReadOnlyMemory<byte>>();
        while (seq.HasData)
        {
            list.Add(seq.ReadEncodedValue());
        }

        return nonEmpty ? NonEmpty(list, field) : list;
    }

    public static void WriteRawSequenceOf(AsnWriter writer, IReadOnlyList<ReadOnlyMemory<byte>> values, Asn1Tag? tag = null)
    {
        writer.PushSequence(tag);
        foreach (ReadOnlyMemory<byte> value in values)
        {
            writer.WriteEncodedValue(value.Span);
        }

        writer.PopSequence(tag);
    }

    /// <summary>Reads one value that must be a universal SEQUENCE (Name, SubjectPublicKeyInfo, Certificate ...), keeping its encoding.</summary>
    public static ReadOnlyMemory<byte> ReadRawSequence(AsnReader reader, string field)
    {
        if (!reader.HasData || reader.PeekTag() != Asn1Tag.Sequence)
        {
            throw new AsnContentException($"{field} is not a SEQUENCE");
        }

        return reader.ReadEncodedValue();
    }

    public static IReadOnlyList<T> NonEmpty<T>(List<T> list, string field)
    {
        if (list.Count == 0)
        {
            throw Invalid($"{field} is empty but SIZE (1..MAX)");
        }

        return list;
    }
}
