using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>error: ErrorMsgContent ::= SEQUENCE { pKIStatusInfo, errorCode INTEGER OPTIONAL, errorDetails PKIFreeText OPTIONAL }.</summary>
public sealed class ErrorBody : PkiBody
{
    /// <inheritdoc/>
    public override PkiBodyType BodyType => PkiBodyType.Error;

    /// <summary>pKIStatusInfo.</summary>
    public required PkiStatusInfo StatusInfo { get; init; }

    /// <summary>errorCode.</summary>
    public long? ErrorCode { get; init; }

    /// <summary>errorDetails.</summary>
    public IReadOnlyList<string>? ErrorDetails { get; init; }

    internal static ErrorBody ReadContent(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        PkiStatusInfo status = PkiStatusInfo.Read(seq);
        long? code = CmpDer.PeekIs(seq, Asn1Tag.Integer) ? CmpDer.ReadInt64(seq, "errorCode") : null;
        IReadOnlyList<string>? details = seq.HasData ? CmpDer.ReadFreeText(seq, "errorDetails") : null;
        seq.ThrowIfNotEmpty();
        return new ErrorBody { StatusInfo = status, ErrorCode = code, ErrorDetails = details };
    }

    private protected override void WriteContent(AsnWriter writer)
    {
        writer.PushSequence();
        StatusInfo.WriteTo(writer);
        if (ErrorCode is { } c)
        {
            writer.WriteInteger(c);
        }

        if (ErrorDetails is { } d)
        {
            CmpDer.WriteFreeText(writer, d);
        }

        writer.PopSequence();
    }
}
