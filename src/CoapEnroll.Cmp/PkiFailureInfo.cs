namespace CoapEnroll.Cmp;

/// <summary>
/// PKIFailureInfo (RFC 9810 section 5.2.3): named bit n of the BIT STRING is the value 1 &lt;&lt; n, as <see cref="PkiStatusInfo.FailInfo"/>
/// holds it (cast to <see cref="int"/>).
/// </summary>
[Flags]
public enum PkiFailureInfo
{
    /// <summary>No failure.</summary>
    None = 0,

    /// <summary>badAlg (bit 0).</summary>
    BadAlg = 1 << 0,

    /// <summary>badMessageCheck (bit 1).</summary>
    BadMessageCheck = 1 << 1,

    /// <summary>badRequest (bit 2).</summary>
    BadRequest = 1 << 2,

    /// <summary>badTime (bit 3).</summary>
    BadTime = 1 << 3,

    /// <summary>badCertId (bit 4).</summary>
    BadCertId = 1 << 4,

    /// <summary>badDataFormat (bit 5).</summary>
    BadDataFormat = 1 << 5,

    /// <summary>wrongAuthority (bit 6).</summary>
    WrongAuthority = 1 << 6,

    /// <summary>incorrectData (bit 7).</summary>
    IncorrectData = 1 << 7,

    /// <summary>missingTimeStamp (bit 8).</summary>
    MissingTimeStamp = 1 << 8,

    /// <summary>badPOP (bit 9).</summary>
    BadPop = 1 << 9,

    /// <summary>certRevoked (bit 10).</summary>
    CertRevoked = 1 << 10,

    /// <summary>certConfirmed (bit 11).</summary>
    CertConfirmed = 1 << 11,

    /// <summary>wrongIntegrity (bit 12).</summary>
    WrongIntegrity = 1 << 12,

    /// <summary>badRecipientNonce (bit 13).</summary>
    BadRecipientNonce = 1 << 13,

    /// <summary>timeNotAvailable (bit 14).</summary>
    TimeNotAvailable = 1 << 14,

    /// <summary>unacceptedPolicy (bit 15).</summary>
    UnacceptedPolicy = 1 << 15,

    /// <summary>unacceptedExtension (bit 16).</summary>
    UnacceptedExtension = 1 << 16,

    /// <summary>addInfoNotAvailable (bit 17).</summary>
    AddInfoNotAvailable = 1 << 17,

    /// <summary>badSenderNonce (bit 18).</summary>
    BadSenderNonce = 1 << 18,

    /// <summary>badCertTemplate (bit 19).</summary>
    BadCertTemplate = 1 << 19,

    /// <summary>signerNotTrusted (bit 20).</summary>
    SignerNotTrusted = 1 << 20,

    /// <summary>transactionIdInUse (bit 21).</summary>
    TransactionIdInUse = 1 << 21,

    /// <summary>unsupportedVersion (bit 22).</summary>
    UnsupportedVersion = 1 << 22,

    /// <summary>notAuthorized (bit 23).</summary>
    NotAuthorized = 1 << 23,

    /// <summary>systemUnavail (bit 24).</summary>
    SystemUnavail = 1 << 24,

    /// <summary>systemFailure (bit 25).</summary>
    SystemFailure = 1 << 25,

    /// <summary>duplicateCertReq (bit 26).</summary>
    DuplicateCertReq = 1 << 26,
}
