using CoapEnroll.Ca;

namespace CoapEnroll.Cmp;

/// <summary>
/// What <see cref="CrmfRequests.Convert"/> made of a CertReqMsg: the <see cref="CertificationRequest"/> with its proof of possession
/// checked, or the failure bit and text to answer with.
/// </summary>
public sealed class CrmfConversion
{
    private CrmfConversion(CertificationRequest? request, bool centralKeyGeneration, OptionalValidity? requestedValidity, PkiFailureInfo failure, string? detail)
    {
        Request = request;
        CentralKeyGeneration = centralKeyGeneration;
        RequestedValidity = requestedValidity;
        Failure = failure;
        Detail = detail;
    }

    /// <summary>
    /// The request (<see cref="CertificationRequestFormat.Crmf"/>, <see cref="CertificationRequest.Encoded"/> the DER of the
    /// CertRequest); null when the conversion failed. Its subject is an empty name when the template has none (kur: the caller
    /// takes the old certificate's).
    /// </summary>
    public CertificationRequest? Request { get; }

    /// <summary>
    /// True when the template has no public key (RFC 9483 section 4.1.6): the server is to generate the key pair;
    /// <see cref="Request"/> then has no public key and no proof of possession.
    /// </summary>
    public bool CentralKeyGeneration { get; }

    /// <summary>The template's validity, if it has one; whether to honour it is the caller's decision.</summary>
    public OptionalValidity? RequestedValidity { get; }

    /// <summary>Why the CertReqMsg is refused, as the failInfo bit to answer with; <see cref="PkiFailureInfo.None"/> when converted.</summary>
    public PkiFailureInfo Failure { get; }

    /// <summary>Human-readable text of the failure, safe to show to the requester; null when converted.</summary>
    public string? Detail { get; }

    /// <summary>True when <see cref="Request"/> is set.</summary>
    public bool IsSuccess => Failure == PkiFailureInfo.None;

    internal static CrmfConversion Converted(CertificationRequest request, bool centralKeyGeneration, OptionalValidity? validity) =>
        new(request, centralKeyGeneration, validity, PkiFailureInfo.None, null);

    internal static CrmfConversion Failed(PkiFailureInfo failure, string detail) => new(null, false, null, failure, detail);
}
