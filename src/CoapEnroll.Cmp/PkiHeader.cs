using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>PKIHeader (RFC 9810 §5.1.1) with the fields RFC 9483 §3 uses; generalInfo entries other than implicitConfirm and confirmWaitTime are kept as received.</summary>
public sealed class PkiHeader
{
    /// <summary>pvno: 2 (cmp2000) or 3 (cmp2021).</summary>
    public int Pvno { get; init; } = 2;

    /// <summary>sender.</summary>
    public required CmpGeneralName Sender { get; init; }

    /// <summary>recipient.</summary>
    public required CmpGeneralName Recipient { get; init; }

    /// <summary>messageTime [0] GeneralizedTime.</summary>
    public DateTimeOffset? MessageTime { get; init; }

    /// <summary>The messageTime GeneralizedTime exactly as received, re-encoded unchanged: DER allows more fractional digits than a tick holds.</summary>
    internal ReadOnlyMemory<byte>? ReceivedMessageTime { get; init; }

    /// <summary>protectionAlg [1].</summary>
    public CmpAlgorithmIdentifier? ProtectionAlg { get; init; }

    /// <summary>senderKID [2]: the protection certificate's subject key identifier, or the MAC reference.</summary>
    public ReadOnlyMemory<byte>? SenderKid { get; init; }

    /// <summary>recipKID [3].</summary>
    public ReadOnlyMemory<byte>? RecipKid { get; init; }

    /// <summary>transactionID [4].</summary>
    public ReadOnlyMemory<byte>? TransactionId { get; init; }

    /// <summary>senderNonce [5].</summary>
    public ReadOnlyMemory<byte>? SenderNonce { get; init; }

    /// <summary>recipNonce [6].</summary>
    public ReadOnlyMemory<byte>? RecipNonce { get; init; }

    /// <summary>freeText [7].</summary>
    public IReadOnlyList<string>? FreeText { get; init; }

    /// <summary>generalInfo [8], in received order.</summary>
    public IReadOnlyList<InfoTypeAndValue>? GeneralInfo { get; init; }

    /// <summary>Whether generalInfo carries implicitConfirm.</summary>
    public bool ImplicitConfirm => GeneralInfo?.Any(i => i.InfoType == InfoTypeAndValue.ImplicitConfirmOid) == true;

    /// <summary>The confirmWaitTime of generalInfo, if any.</summary>
    public DateTimeOffset? ConfirmWaitTime
    {
        get
        {
            InfoTypeAndValue? item = GeneralInfo?.FirstOrDefault(i => i.InfoType == InfoTypeAndValue.ConfirmWaitTimeOid);
            return item?.Value is { } v ? new AsnReader(v, CmpDer.Rules).ReadGeneralizedTime() : null;
        }
    }

    /// <summary>A copy of this header with <see cref="ProtectionAlg"/> replaced and every other field kept.</summary>
    internal PkiHeader WithProtectionAlg(CmpAlgorithmIdentifier? protectionAlg) => Copy(MessageTime, ReceivedMessageTime, protectionAlg);

    /// <summary>
    /// A copy of this header with <see cref="MessageTime"/> replaced (for a request sent again); every other field is kept but the
    /// received encoding of the old time, which the encoder would otherwise write instead of the new one.
    /// </summary>
    internal PkiHeader WithMessageTime(DateTimeOffset messageTime) => Copy(messageTime, null, ProtectionAlg);

    private PkiHeader Copy(DateTimeOffset? messageTime, ReadOnlyMemory<byte>? receivedMessageTime, CmpAlgorithmIdentifier? protectionAlg) => new()
    {
        Pvno = Pvno,
        Sender = Sender,
        Recipient = Recipient,
        MessageTime = messageTime,
        ReceivedMessageTime = receivedMessageTime,
        ProtectionAlg = protectionAlg,
        SenderKid = SenderKid,
        RecipKid = RecipKid,
        TransactionId = TransactionId,
        SenderNonce = SenderNonce,
        RecipNonce = RecipNonce,
        FreeText = FreeText,
        GeneralInfo = GeneralInfo,
    };

    internal static PkiHeader Read(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        int pvno = CmpDer.ReadInt32(seq, "pvno");
        if (pvno is < 1 or > 3)
        {
            throw CmpDer.Invalid($"pvno {pvno} is not 1, 2 or 3");
        }

        CmpGeneralName sender = CmpGeneralName.Read(seq);
        CmpGeneralName recipient = CmpGeneralName.Read(seq);
        DateTimeOffset? messageTime = null;
        ReadOnlyMemory<byte>? receivedMessageTime = null;
        CmpAlgorithmIdentifier? protectionAlg = null;
        ReadOnlyMemory<byte>? senderKid = null, recipKid = null, transactionId = null, senderNonce = null, recipNonce = null;
        IReadOnlyList<string>? freeText = null;
        IReadOnlyList<InfoTypeAndValue>? generalInfo = null;

        if (CmpDer.PeekIsContext(seq, 0))
        {
            AsnReader inner = seq.ReadSequence(CmpDer.Ctx(0));
            receivedMessageTime = inner.PeekEncodedValue();
            messageTime = inner.ReadGeneralizedTime();
            inner.ThrowIfNotEmpty();
        }

        if (CmpDer.PeekIsContext(seq, 1))
        {
            AsnReader inner = seq.ReadSequence(CmpDer.Ctx(1));
            protectionAlg = CmpAlgorithmIdentifier.Read(inner);
            inner.ThrowIfNotEmpty();
        }

        senderKid = ReadExplicitOctets(seq, 2);
        recipKid = ReadExplicitOctets(seq, 3);
        transactionId = ReadExplicitOctets(seq, 4);
        senderNonce = ReadExplicitOctets(seq, 5);
        recipNonce = ReadExplicitOctets(seq, 6);

        if (CmpDer.PeekIsContext(seq, 7))
        {
            AsnReader inner = seq.ReadSequence(CmpDer.Ctx(7));
            freeText = CmpDer.ReadFreeText(inner, "freeText");
            inner.ThrowIfNotEmpty();
        }

        if (CmpDer.PeekIsContext(seq, 8))
        {
            AsnReader inner = seq.ReadSequence(CmpDer.Ctx(8));
            generalInfo = InfoTypeAndValue.ReadList(inner, "generalInfo", nonEmpty: true);
            inner.ThrowIfNotEmpty();
            ValidateGeneralInfo(generalInfo);
        }

        seq.ThrowIfNotEmpty();
        return new PkiHeader
        {
            Pvno = pvno,
            Sender = sender,
            Recipient = recipient,
            MessageTime = messageTime,
            ReceivedMessageTime = receivedMessageTime,
            ProtectionAlg = protectionAlg,
            SenderKid = senderKid,
            RecipKid = recipKid,
            TransactionId = transactionId,
            SenderNonce = senderNonce,
            RecipNonce = recipNonce,
            FreeText = freeText,
            GeneralInfo = generalInfo,
        };
    }

    internal void WriteTo(AsnWriter writer)
    {
        writer.PushSequence();
        writer.WriteInteger(Pvno);
        Sender.WriteTo(writer);
        Recipient.WriteTo(writer);
        if (MessageTime is { } time)
        {
            writer.PushSequence(CmpDer.CtxC(0));
            if (ReceivedMessageTime is { } received)
            {
                writer.WriteEncodedValue(received.Span);
            }
            else
            {
                writer.WriteGeneralizedTime(time);
            }

            writer.PopSequence(CmpDer.CtxC(0));
        }

        if (ProtectionAlg is { } alg)
        {
            writer.PushSequence(CmpDer.CtxC(1));
            alg.WriteTo(writer);
            writer.PopSequence(CmpDer.CtxC(1));
        }

        WriteExplicitOctets(writer, 2, SenderKid);
        WriteExplicitOctets(writer, 3, RecipKid);
        WriteExplicitOctets(writer, 4, TransactionId);
        WriteExplicitOctets(writer, 5, SenderNonce);
        WriteExplicitOctets(writer, 6, RecipNonce);
        if (FreeText is { } text)
        {
            writer.PushSequence(CmpDer.CtxC(7));
            CmpDer.WriteFreeText(writer, text);
            writer.PopSequence(CmpDer.CtxC(7));
        }

        if (GeneralInfo is { } info)
        {
            writer.PushSequence(CmpDer.CtxC(8));
            InfoTypeAndValue.WriteList(writer, info);
            writer.PopSequence(CmpDer.CtxC(8));
        }

        writer.PopSequence();
    }

    private static void ValidateGeneralInfo(IReadOnlyList<InfoTypeAndValue> info)
    {
        foreach (InfoTypeAndValue item in info)
        {
            if (item.InfoType == InfoTypeAndValue.ImplicitConfirmOid)
            {
                if (item.Value is not { } v)
                {
                    throw CmpDer.Invalid("implicitConfirm has no value (NULL expected)");
                }

                var r = new AsnReader(v, CmpDer.Rules);
                r.ReadNull();
                r.ThrowIfNotEmpty();
            }
            else if (item.InfoType == InfoTypeAndValue.ConfirmWaitTimeOid)
            {
                if (item.Value is not { } v)
                {
                    throw CmpDer.Invalid("confirmWaitTime has no value (GeneralizedTime expected)");
                }

                var r = new AsnReader(v, CmpDer.Rules);
                r.ReadGeneralizedTime();
                r.ThrowIfNotEmpty();
            }
        }
    }

    private static ReadOnlyMemory<byte>? ReadExplicitOctets(AsnReader seq, int number)
    {
        if (!CmpDer.PeekIsContext(seq, number))
        {
            return null;
        }

        AsnReader inner = seq.ReadSequence(CmpDer.Ctx(number));
        ReadOnlyMemory<byte> value = inner.ReadOctetString();
        inner.ThrowIfNotEmpty();
        return value;
    }

    private static void WriteExplicitOctets(AsnWriter writer, int number, ReadOnlyMemory<byte>? value)
    {
        if (value is { } v)
        {
            writer.PushSequence(CmpDer.CtxC(number));
            writer.WriteOctetString(v.Span);
            writer.PopSequence(CmpDer.CtxC(number));
        }
    }
}
