using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>PKIStatusInfo: status (0 accepted .. 6 keyUpdateWarning), statusString and failInfo bits (bit n is 1 &lt;&lt; n).</summary>
public sealed class PkiStatusInfo
{
    /// <summary>PKIStatus.</summary>
    public int Status { get; init; }

    /// <summary>statusString.</summary>
    public IReadOnlyList<string>? StatusString { get; init; }

    /// <summary>failInfo as a bit mask, bit n of the named bit list as 1 &lt;&lt; n; <see langword="null"/> when absent.</summary>
    public int? FailInfo { get; init; }

    internal static PkiStatusInfo Read(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        int status = CmpDer.ReadInt32(seq, "PKIStatus");
        IReadOnlyList<string>? text = CmpDer.PeekIs(seq, Asn1Tag.Sequence) ? CmpDer.ReadFreeText(seq, "statusString") : null;
        int? fail = null;
        if (seq.HasData)
        {
            System.Collections.BitArray bits = seq.ReadNamedBitList();
            if (bits.Length > 31)
            {
                throw CmpDer.Invalid("failInfo has more than 31 bits");
            }

            int mask = 0;
            for (int i = 0; i < bits.Length; i++)
            {
                mask |= bits[i] ? 1 << i : 0;
            }

            fail = mask;
        }

        seq.ThrowIfNotEmpty();
        return new PkiStatusInfo { Status = status, StatusString = text, FailInfo = fail };
    }

    internal void WriteTo(AsnWriter writer)
    {
        writer.PushSequence();
        writer.WriteInteger(Status);
        if (StatusString is { } text)
        {
            CmpDer.WriteFreeText(writer, text);
        }

        if (FailInfo is { } fail)
        {
            // DER named bit list: no trailing zero bits, so the array ends at the highest set bit.
            int length = 32 - int.LeadingZeroCount(fail);
            var bits = new System.Collections.BitArray(length);
            for (int i = 0; i < length; i++)
            {
                bits[i] = (fail & (1 << i)) != 0;
            }

            writer.WriteNamedBitList(bits);
        }

        writer.PopSequence();
    }
}
