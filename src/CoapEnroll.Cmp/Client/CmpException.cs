namespace CoapEnroll.Cmp;

/// <summary>
/// The CMP server refused (an error message, or a rejection status), or its answer failed a check (transactionID, nonces, protection,
/// unexpected body). <see cref="FailureInfo"/> and <see cref="StatusStrings"/> are the server's when it refused.
/// </summary>
public sealed class CmpException : Exception
{
    /// <summary>A refusal or failed check.</summary>
    public CmpException(string message, PkiFailureInfo failureInfo = PkiFailureInfo.None, IReadOnlyList<string>? statusStrings = null, bool isRefusal = false, bool isAuthenticated = true)
        : base(message)
    {
        FailureInfo = failureInfo;
        StatusStrings = statusStrings ?? [];
        IsRefusal = isRefusal;
        IsAuthenticated = isAuthenticated;
    }

    /// <summary>A failed check.</summary>
    public CmpException()
        : this("CMP exchange failed")
    {
    }

    /// <summary>A failed check with its cause.</summary>
    public CmpException(string message, Exception innerException)
        : base(message, innerException)
    {
        StatusStrings = [];
    }

    /// <summary>A failed check.</summary>
    public CmpException(string message)
        : this(message, PkiFailureInfo.None)
    {
    }

    /// <summary>The server's failInfo bits (none when the client's own check failed).</summary>
    public PkiFailureInfo FailureInfo { get; }

    /// <summary>The server's statusString texts.</summary>
    public IReadOnlyList<string> StatusStrings { get; }

    /// <summary>Whether the server refused (error message or rejection), as opposed to the client rejecting the answer.</summary>
    public bool IsRefusal { get; }

    /// <summary>Whether the refusal's protection verified; an unauthenticated refusal may be forged and is reported as such.</summary>
    public bool IsAuthenticated { get; }

    /// <summary>
    /// Whether the client gave up because the server was still working on the request (waiting, pollRep) when the next poll would
    /// have passed <see cref="CmpClientOptions.MaxPollWait"/>: neither a refusal nor a failed check.
    /// </summary>
    public bool GaveUpWaiting { get; init; }

    /// <summary>The failInfo bits as RFC 9810 names them (badMessageCheck, …), comma-separated; empty for none.</summary>
    public static string Describe(PkiFailureInfo info) =>
        string.Join(",", Enum.GetValues<PkiFailureInfo>().Where(f => f != PkiFailureInfo.None && info.HasFlag(f)).Select(f => char.ToLowerInvariant(f.ToString()[0]) + f.ToString()[1..]));
}
