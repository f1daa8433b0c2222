namespace CoapEnroll.Coap.Tests.Server;

/// <summary>RFC 7252 §5.10.8 (If-Match) and §5.10.9 (If-None-Match) as <see cref="CoapPreconditions"/> evaluates them.</summary>
public class CoapPreconditionsTests
{
    private static readonly byte[] s_etag = [0xA1, 0xB2];

    private static CoapMessage Put(params CoapOption[] options)
    {
        var request = CoapMessage.CreateRequest(CoapCode.Put, "/r");
        foreach (var option in options)
        {
            request = request.WithOption(option);
        }

        return request;
    }

    private static CoapOption IfMatch(params byte[] value) => new(CoapOptionNumber.IfMatch, value);

    private static CoapOption IfNoneMatch => new(CoapOptionNumber.IfNoneMatch, ReadOnlyMemory<byte>.Empty);

    public static TheoryData<string, CoapMessage, bool, byte[]?, bool> Cases => new()
    {
        { "no condition, absent", Put(), false, null, true },
        { "no condition, present", Put(), true, s_etag, true },
        { "empty If-Match, present", Put(IfMatch()), true, null, true },
        { "empty If-Match, absent", Put(IfMatch()), false, null, false },
        { "If-Match with the ETag", Put(IfMatch(0xA1, 0xB2)), true, s_etag, true },
        { "If-Match with another ETag", Put(IfMatch(0xA1, 0xB3)), true, s_etag, false },
        { "If-Match, second value is the ETag", Put(IfMatch(0x01), IfMatch(0xA1, 0xB2)), true, s_etag, true },
        { "If-Match with a value, resource without ETag", Put(IfMatch(0xA1, 0xB2)), true, null, false },
        { "If-Match with the ETag, resource gone", Put(IfMatch(0xA1, 0xB2)), false, s_etag, false },
        { "If-None-Match, absent", Put(IfNoneMatch), false, null, true },
        { "If-None-Match, present", Put(IfNoneMatch), true, null, false },
        { "empty If-Match and If-None-Match, present", Put(IfMatch(), IfNoneMatch), true, null, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Evaluate_FollowsRfc7252(string what, CoapMessage request, bool exists, byte[]? etag, bool proceeds)
    {
        var result = CoapPreconditions.Evaluate(request, exists, etag);

        if (proceeds)
        {
            Assert.True(result is null, $"{what}: expected to proceed, got {result?.Code} {result?.PayloadText}");
        }
        else
        {
            Assert.True(result is { } r && r.Code == CoapCode.PreconditionFailed && r.PayloadText.Contains("If-", StringComparison.Ordinal), $"{what}: expected 4.12, got {result?.Code.ToString() ?? "proceed"}");
        }
    }
}
