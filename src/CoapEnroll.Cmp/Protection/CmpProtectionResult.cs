namespace CoapEnroll.Cmp;

/// <summary>The result of verifying a PKIMessage's protection: a status and, unless valid, why.</summary>
public sealed class CmpProtectionResult
{
    private static readonly CmpProtectionResult ValidResult = new(CmpProtectionStatus.Valid, null);

    private CmpProtectionResult(CmpProtectionStatus status, string? detail)
    {
        Status = status;
        Detail = detail;
    }

    /// <summary>The outcome.</summary>
    public CmpProtectionStatus Status { get; }

    /// <summary>Why the protection did not verify; <see langword="null"/> when valid.</summary>
    public string? Detail { get; }

    /// <summary>Whether <see cref="Status"/> is <see cref="CmpProtectionStatus.Valid"/>.</summary>
    public bool IsValid => Status == CmpProtectionStatus.Valid;

    /// <inheritdoc/>
    public override string ToString() => Detail is null ? Status.ToString() : $"{Status}: {Detail}";

    internal static CmpProtectionResult Valid() => ValidResult;

    internal static CmpProtectionResult Fail(CmpProtectionStatus status, string detail) => new(status, detail);
}
