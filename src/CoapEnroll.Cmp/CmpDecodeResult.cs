using System.Diagnostics.CodeAnalysis;

namespace CoapEnroll.Cmp;

/// <summary>The result of <see cref="PkiMessageCodec.Decode"/>: the message, or a status and a reason saying why there is none.</summary>
public sealed class CmpDecodeResult
{
    private CmpDecodeResult(CmpDecodeStatus status, string? reason, PkiMessage? message)
    {
        Status = status;
        Reason = reason;
        Message = message;
    }

    /// <summary>Whether decoding succeeded.</summary>
    public CmpDecodeStatus Status { get; }

    /// <summary>Why decoding failed; <see langword="null"/> on success.</summary>
    public string? Reason { get; }

    /// <summary>The decoded message; <see langword="null"/> unless <see cref="Status"/> is <see cref="CmpDecodeStatus.Success"/>.</summary>
    public PkiMessage? Message { get; }

    /// <summary>Whether <see cref="Message"/> is set.</summary>
    [MemberNotNullWhen(true, nameof(Message))]
    public bool IsSuccess => Status == CmpDecodeStatus.Success;

    internal static CmpDecodeResult Ok(PkiMessage message) => new(CmpDecodeStatus.Success, null, message);

    internal static CmpDecodeResult Fail(CmpDecodeStatus status, string reason) => new(status, reason, null);
}
