namespace CoapEnroll.Ca;

/// <summary>How a profile derives the issued certificate's subject from the CSR's subject.</summary>
public enum SubjectPolicy
{
    /// <summary>Copy the CSR's subject as is (value lengths are still bounded, RFC 5280 Appendix A).</summary>
    CopyFromRequest,

    /// <summary>Copy the subject only if every RDN is single-valued and of an attribute type in the allow list; otherwise reject.</summary>
    AllowList,
}
