namespace CoapEnroll.Cmp;

/// <summary>The PKIBody CHOICE alternatives, valued by their context tag (RFC 9810 §5.1.2).</summary>
public enum PkiBodyType
{
    /// <summary>Initialization request.</summary>
    Ir = 0,

    /// <summary>Initialization response.</summary>
    Ip = 1,

    /// <summary>Certification request.</summary>
    Cr = 2,

    /// <summary>Certification response.</summary>
    Cp = 3,

    /// <summary>PKCS #10 certification request.</summary>
    P10cr = 4,

    /// <summary>POP challenge.</summary>
    Popdecc = 5,

    /// <summary>POP response.</summary>
    Popdecr = 6,

    /// <summary>Key update request.</summary>
    Kur = 7,

    /// <summary>Key update response.</summary>
    Kup = 8,

    /// <summary>Key recovery request.</summary>
    Krr = 9,

    /// <summary>Key recovery response.</summary>
    Krp = 10,

    /// <summary>Revocation request.</summary>
    Rr = 11,

    /// <summary>Revocation response.</summary>
    Rp = 12,

    /// <summary>Cross-certification request.</summary>
    Ccr = 13,

    /// <summary>Cross-certification response.</summary>
    Ccp = 14,

    /// <summary>CA key update announcement.</summary>
    Ckuann = 15,

    /// <summary>Certificate announcement.</summary>
    Cann = 16,

    /// <summary>Revocation announcement.</summary>
    Rann = 17,

    /// <summary>CRL announcement.</summary>
    Crlann = 18,

    /// <summary>Confirmation.</summary>
    PkiConf = 19,

    /// <summary>Nested message.</summary>
    Nested = 20,

    /// <summary>General message.</summary>
    Genm = 21,

    /// <summary>General response.</summary>
    Genp = 22,

    /// <summary>Error message.</summary>
    Error = 23,

    /// <summary>Certificate confirmation.</summary>
    CertConf = 24,

    /// <summary>Polling request.</summary>
    PollReq = 25,

    /// <summary>Polling response.</summary>
    PollRep = 26,
}
