namespace CoapEnroll.Enrollment;

/// <summary>What a requester asks the enrollment service for.</summary>
public enum EnrollmentOperation
{
    /// <summary>A first certificate (EST simpleenroll, RFC 7030 §4.2.1; CMP ir/cr/p10cr).</summary>
    Enroll,

    /// <summary>
    /// A certificate replacing the requester's current one, with the same subject and subjectAltName (EST simplereenroll,
    /// RFC 7030 §4.2.2; CMP kur). The replaced certificate is marked superseded on issuance.
    /// </summary>
    Reenroll,

    /// <summary>A certificate for a key pair the server generates and returns (EST serverkeygen, RFC 7030 §4.4; CMP central key generation).</summary>
    ServerKeyGeneration,
}
