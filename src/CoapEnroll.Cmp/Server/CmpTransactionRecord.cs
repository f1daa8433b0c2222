using System.Formats.Asn1;
using CoapEnroll.Ca;

namespace CoapEnroll.Cmp;

/// <summary>
/// A <see cref="CmpTransaction"/> as the store keeps it (<see cref="StoredTransaction"/>): the id "cmp:" and the transactionID in
/// hex, the requester as owner, the certificate awaiting confirmation as reference, and in the data, DER of
/// <code>
/// CmpTransactionData ::= SEQUENCE {
///     format             INTEGER (1),
///     state              INTEGER,          -- CmpTransactionState
///     requestType        INTEGER,          -- PKIBody choice of the request that opened it
///     certReqId          INTEGER,
///     expectedRecipNonce OCTET STRING,
///     implicitConfirm    BOOLEAN,
///     profileLabel   [0] UTF8String OPTIONAL,
///     openingMessage [1] OCTET STRING OPTIONAL,   -- while pending
///     certificate    [2] OCTET STRING OPTIONAL }  -- while awaiting certConf
/// </code>
/// </summary>
internal static class CmpTransactionRecord
{
    /// <summary>The prefix of CMP transactions' ids in the store.</summary>
    public const string IdPrefix = "cmp:";

    /// <summary>The largest opening message kept for a request that may wait for an operator; the rest of the record fits beside it.</summary>
    public const int MaxOpeningMessage = StoredTransaction.MaxDataLength - 16 * 1024;

    private const int Format = 1;
    private static readonly Asn1Tag ProfileTag = new(TagClass.ContextSpecific, 0);
    private static readonly Asn1Tag OpeningTag = new(TagClass.ContextSpecific, 1);
    private static readonly Asn1Tag CertificateTag = new(TagClass.ContextSpecific, 2);

    public static string StoreId(string transactionId) => IdPrefix + transactionId;

    public static StoredTransaction ToStored(CmpTransaction transaction, bool closed = false, DateTimeOffset? forgetAt = null)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(Format);
            writer.WriteInteger((int)transaction.State);
            writer.WriteInteger((int)transaction.RequestType);
            writer.WriteInteger(transaction.CertReqId);
            writer.WriteOctetString(transaction.ExpectedRecipNonce);
            writer.WriteBoolean(transaction.ImplicitConfirmRequested);
            if (transaction.ProfileLabel is { } label)
            {
                writer.WriteCharacterString(UniversalTagNumber.UTF8String, label, ProfileTag);
            }

            if (transaction.OpeningMessage is { } opening)
            {
                writer.WriteOctetString(opening, OpeningTag);
            }

            if (transaction.CertificateDer is { } certificate)
            {
                writer.WriteOctetString(certificate, CertificateTag);
            }
        }

        return new StoredTransaction
        {
            Id = StoreId(transaction.Id),
            Owner = transaction.Requester,
            Reference = transaction.State == CmpTransactionState.AwaitingConfirmation ? transaction.CertificateSerial : null,
            Data = writer.Encode(),
            ExpiresAt = forgetAt ?? transaction.Deadline,
            Closed = closed,
            Version = transaction.Version,
        };
    }

    /// <summary>The transaction a store row holds.</summary>
    /// <exception cref="AsnContentException">The row is not a CMP transaction of this format.</exception>
    public static CmpTransaction FromStored(StoredTransaction stored)
    {
        if (!stored.Id.StartsWith(IdPrefix, StringComparison.Ordinal))
        {
            throw new AsnContentException($"'{stored.Id}' is not a CMP transaction");
        }

        var outer = new AsnReader(stored.Data, AsnEncodingRules.DER);
        AsnReader sequence = outer.ReadSequence();
        outer.ThrowIfNotEmpty();
        if (!sequence.TryReadInt32(out int format) || format != Format)
        {
            throw new AsnContentException("CMP transaction data of an unknown format");
        }

        var state = (CmpTransactionState)ReadInt32(sequence);
        var requestType = (PkiBodyType)ReadInt32(sequence);
        if (!sequence.TryReadInt64(out long certReqId))
        {
            throw new AsnContentException("certReqId out of range");
        }

        byte[] nonce = sequence.ReadOctetString();
        bool implicitConfirm = sequence.ReadBoolean();
        string? label = sequence.HasData && sequence.PeekTag().HasSameClassAndValue(ProfileTag) ? sequence.ReadCharacterString(UniversalTagNumber.UTF8String, ProfileTag) : null;
        byte[]? opening = sequence.HasData && sequence.PeekTag().HasSameClassAndValue(OpeningTag) ? sequence.ReadOctetString(OpeningTag) : null;
        byte[]? certificate = sequence.HasData && sequence.PeekTag().HasSameClassAndValue(CertificateTag) ? sequence.ReadOctetString(CertificateTag) : null;
        sequence.ThrowIfNotEmpty();
        if (!Enum.IsDefined(state))
        {
            throw new AsnContentException($"unknown transaction state {(int)state}");
        }

        return new CmpTransaction
        {
            Id = stored.Id[IdPrefix.Length..],
            Requester = stored.Owner,
            State = state,
            RequestType = requestType,
            CertReqId = certReqId,
            ExpectedRecipNonce = nonce,
            Deadline = stored.ExpiresAt,
            ImplicitConfirmRequested = implicitConfirm,
            ProfileLabel = label,
            OpeningMessage = opening,
            CertificateDer = certificate,
            CertificateSerial = certificate is null ? null : stored.Reference,
            Version = stored.Version,
        };
    }

    private static int ReadInt32(AsnReader reader) =>
        reader.TryReadInt32(out int value) ? value : throw new AsnContentException("an integer out of range");
}
