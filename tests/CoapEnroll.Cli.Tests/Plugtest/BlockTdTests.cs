using System.Globalization;
using System.Text;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Coap;
using CoapEnroll.Hosting;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// The block-wise test descriptions of the ETSI/F-Interop CoAP plugtest (TD_COAP_BLOCK_01 to _06, RFC 7959) against
/// <c>coapenroll serve --Coap:PlugtestResources=true</c>, each driven by libcoap's <c>coap-client-notls</c> (whose <c>-v 7</c> log
/// shows every message) and by raw datagrams. Each asserts the TD's verdict checks: the codes (2.05, 2.31, 2.04, 2.01), the Block1
/// and Block2 NUM, M and SZX of every response, the payload size of every block, and the whole body.
/// </summary>
public sealed class BlockTdTests : IClassFixture<BolServerFixture>
{
    private static readonly ReadOnlyMemory<byte> s_large = DiagnosticResources.LargeBody;

    private readonly BolServerFixture _fixture;

    public BlockTdTests(BolServerFixture fixture) => _fixture = fixture;

    // ---- TD_COAP_BLOCK_01 / _06: GET /large with early negotiation (Block2 NUM=0, M=0, SZX in the first request) ------------------

    [Fact]
    [Trait("Needs", "block-wise")]
    public Task TD_COAP_BLOCK_01_LargeGetEarlyNegotiation_LibCoap() => EarlyNegotiationLibCoapAsync(64);

    [Fact]
    [Trait("Needs", "block-wise")]
    public Task TD_COAP_BLOCK_01_LargeGetEarlyNegotiation_Raw() => EarlyNegotiationRawAsync(64);

    [Fact]
    [Trait("Needs", "block-wise")]
    public Task TD_COAP_BLOCK_06_LargeGetEarlyNegotiation16Bytes_LibCoap() => EarlyNegotiationLibCoapAsync(16);

    [Fact]
    [Trait("Needs", "block-wise")]
    public Task TD_COAP_BLOCK_06_LargeGetEarlyNegotiation16Bytes_Raw() => EarlyNegotiationRawAsync(16);

    private async Task EarlyNegotiationLibCoapAsync(int size)
    {
        string output = Path.Combine(_fixture.WorkingDirectory, $"large-{size}-{Guid.NewGuid():N}.out");
        var (result, messages) = await BolLibCoap.RunAsync(60, "-m", "get", "-b", size.ToString(CultureInfo.InvariantCulture), "-o", output, _fixture.Uri("/large"));

        Assert.True(result.ExitCode == 0, result.Describe());
        var requests = messages.Where(m => m.Code == "GET").ToArray();
        Assert.True(requests.Length > 0 && requests[0].Block2 is { Number: 0, More: false } first && first.Size == size,
            $"Step 2: the first GET carries Block2 NUM=0, M=0, SZX={size}.{Environment.NewLine}{result.Describe()}");
        AssertBlock2Sequence(BolLibCoap.ServerResponses(messages).Select(m => (m.Code, m.Block2)).ToArray(), size, s_large.Length, "2.05", result.Describe());
        byte[] received = await File.ReadAllBytesAsync(output);
        Assert.True(s_large.Span.SequenceEqual(received), "Step 8: the client has the whole 4096-byte /large.");
    }

    private async Task EarlyNegotiationRawAsync(int size)
    {
        await using var raw = _fixture.CreateRawClient();
        var (responses, body) = await raw.FetchAsync(CoapMessage.CreateRequest(CoapCode.Get, "/large").WithBlock2(new BlockOption(0, false, BlockOption.SizeToExponent(size))));

        AssertBlock2Sequence(responses.Select(r => (r.Code.ToString(), r.Block2)).ToArray(), size, s_large.Length, "2.05", string.Join(Environment.NewLine, responses));
        AssertPayloadSizes(responses, size);
        Assert.True(responses.All(r => r.Type == CoapMessageType.Acknowledgement), "Every block is piggybacked on the ACK of its CON GET.");
        Assert.True(responses.Select(r => Convert.ToHexString(r.ETag!.Value.Span)).Distinct().Count() == 1, "Every block carries the same ETag (RFC 7959 §2.4).");
        Assert.True(s_large.Span.SequenceEqual(body), "The blocks reassemble to /large.");
    }

    // ---- TD_COAP_BLOCK_02: GET /large with late negotiation (no Block2 in the first request) -----------------------------------------

    [Fact]
    [Trait("Needs", "block-wise")]
    public async Task TD_COAP_BLOCK_02_LargeGetLateNegotiation_LibCoap()
    {
        string output = Path.Combine(_fixture.WorkingDirectory, $"large-late-{Guid.NewGuid():N}.out");
        var (result, messages) = await BolLibCoap.RunAsync(30, "-m", "get", "-o", output, _fixture.Uri("/large"));

        Assert.True(result.ExitCode == 0, result.Describe());
        var requests = messages.Where(m => m.Code == "GET").ToArray();
        Assert.True(requests.Length > 0 && requests[0].Block2 is null, $"Step 2: the first GET has no Block2.{Environment.NewLine}{result.Describe()}");
        var responses = BolLibCoap.ServerResponses(messages);
        int size = responses[0].Block2?.Size ?? 0;
        Assert.True(size is >= 16 and <= 1024, $"Step 3: the server picks a block size.{Environment.NewLine}{result.Describe()}");
        AssertBlock2Sequence(responses.Select(m => (m.Code, m.Block2)).ToArray(), size, s_large.Length, "2.05", result.Describe());
        byte[] received = await File.ReadAllBytesAsync(output);
        Assert.True(s_large.Span.SequenceEqual(received), "The client has the whole /large.");
    }

    [Fact]
    [Trait("Needs", "block-wise")]
    public async Task TD_COAP_BLOCK_02_LargeGetLateNegotiation_Raw()
    {
        await using var raw = _fixture.CreateRawClient();
        var (responses, body) = await raw.FetchAsync(CoapMessage.CreateRequest(CoapCode.Get, "/large"));

        var first = responses[0];
        Assert.True(first.Block2 is { Number: 0, More: true }, $"Step 3: Block2 NUM=0, M=1 without being asked: {first}");
        Assert.Equal((uint)s_large.Length, first.Size2);
        AssertBlock2Sequence(responses.Select(r => (r.Code.ToString(), r.Block2)).ToArray(), first.Block2!.Value.Size, s_large.Length, "2.05",
            string.Join(Environment.NewLine, responses));
        AssertPayloadSizes(responses, first.Block2!.Value.Size);
        Assert.True(s_large.Span.SequenceEqual(body), "The blocks reassemble to /large.");
    }

    // ---- TD_COAP_BLOCK_03: PUT /large-update in Block1 blocks -----------------------------------------------------------------------

    [Fact]
    [Trait("Needs", "block-wise")]
    public async Task TD_COAP_BLOCK_03_LargePutUpdate_LibCoap()
    {
        byte[] body = Body("put-libcoap", 2000);
        string file = await WriteAsync(body);

        var (result, messages) = await BolLibCoap.RunAsync(60, "-m", "put", "-b", "256", "-t", "0", "-f", file, _fixture.Uri("/large-update"));

        Assert.True(result.ExitCode == 0, result.Describe());
        AssertBlock1Sequence(BolLibCoap.ServerResponses(messages).Select(m => (m.Code, m.Block1)).ToArray(), 256, body.Length, "2.04", result.Describe());
        await AssertStoredAsync("/large-update", body);
    }

    [Fact]
    [Trait("Needs", "block-wise")]
    public async Task TD_COAP_BLOCK_03_LargePutUpdate_Raw()
    {
        byte[] body = Body("put-raw", 1500);
        await using var raw = _fixture.CreateRawClient();

        var responses = await SendBlock1Async(raw, CoapMessage.CreateRequest(CoapCode.Put, "/large-update").WithContentFormat(CoapContentFormat.TextPlain), body, 128);

        AssertBlock1Sequence(responses.Select(r => (r.Code.ToString(), r.Block1)).ToArray(), 128, body.Length, "2.04", string.Join(Environment.NewLine, responses));
        await AssertStoredAsync("/large-update", body);
    }

    // ---- TD_COAP_BLOCK_04: POST /large-create in Block1 blocks, 2.01 with Location-Path -------------------------------------------

    // The TD's step 5 names 2.01 for the blocks before the last, while its own verdict also accepts 2.31 Continue: we answer
    // 2.31, as RFC 7959 §2.9.1 prescribes for an atomic transfer, and 2.01 Created (with Block1 M=0) to the last block only.

    [Fact]
    [Trait("Needs", "block-wise")]
    public async Task TD_COAP_BLOCK_04_LargePostCreate_LibCoap()
    {
        byte[] body = Body("create-libcoap", 1800);
        string file = await WriteAsync(body);

        var (result, messages) = await BolLibCoap.RunAsync(60, "-m", "post", "-b", "128", "-t", "0", "-f", file, _fixture.Uri("/large-create"));

        Assert.True(result.ExitCode == 0, result.Describe());
        var responses = BolLibCoap.ServerResponses(messages);
        AssertBlock1Sequence(responses.Select(m => (m.Code, m.Block1)).ToArray(), 128, body.Length, "2.01", result.Describe());
        string[] location = [.. responses[^1].All("Location-Path")];
        Assert.True(location.Length == 2 && location[0] == "large-create" && !location[1].Contains('/', StringComparison.Ordinal),
            $"Step 7: Location-Path large-create, then one segment chosen by the server.{Environment.NewLine}{result.Describe()}");
        await AssertStoredAsync($"/large-create/{location[1]}", body);
    }

    [Fact]
    [Trait("Needs", "block-wise")]
    public async Task TD_COAP_BLOCK_04_LargePostCreate_Raw()
    {
        byte[] body = Body("create-raw", 1300);
        await using var raw = _fixture.CreateRawClient();

        var responses = await SendBlock1Async(raw, CoapMessage.CreateRequest(CoapCode.Post, "/large-create").WithContentFormat(CoapContentFormat.TextPlain), body, 256);

        AssertBlock1Sequence(responses.Select(r => (r.Code.ToString(), r.Block1)).ToArray(), 256, body.Length, "2.01", string.Join(Environment.NewLine, responses));
        var location = responses[^1].LocationPath;
        Assert.True(location.Count == 2 && location[0] == "large-create", $"Step 7: {responses[^1]}");

        // Step 10: a GET with Uri-Path options copied from the Location-Path options.
        var get = CoapMessage.CreateRequest(CoapCode.Get);
        foreach (string segment in location)
        {
            get = get.WithOption(CoapOption.FromString(CoapOptionNumber.UriPath, segment));
        }

        var (getResponses, stored) = await raw.FetchAsync(get);
        Assert.Equal(CoapCode.Content, getResponses[0].Code);
        Assert.True(body.AsSpan().SequenceEqual(stored), "Step 11: the new resource holds the posted body.");
    }

    // ---- TD_COAP_BLOCK_05: POST /large-post, Block1 up and Block2 down ------------------------------------------------------------

    [Fact]
    [Trait("Needs", "block-wise")]
    public async Task TD_COAP_BLOCK_05_LargePostTwoWay_LibCoap()
    {
        byte[] body = Body("two-way-libcoap", 1400);
        string file = await WriteAsync(body);
        string output = Path.Combine(_fixture.WorkingDirectory, $"two-way-{Guid.NewGuid():N}.out");

        var (result, messages) = await BolLibCoap.RunAsync(60, "-m", "post", "-b", "64", "-t", "0", "-f", file, "-o", output, _fixture.Uri("/large-post"));

        Assert.True(result.ExitCode == 0, result.Describe());
        var responses = BolLibCoap.ServerResponses(messages);
        int last = responses.ToList().FindIndex(r => r.Block1 is { More: false });
        Assert.True(last >= 0, $"Step 7: a response with Block1 M=0.{Environment.NewLine}{result.Describe()}");
        AssertBlock1Sequence(responses.Take(last + 1).Select(m => (m.Code, m.Block1)).ToArray(), 64, body.Length, "2.04", result.Describe());

        // Step 7: libcoap's last Block1 request states no Block2 size, so the server picks its own (rDES_SZX, up to 1024 bytes), and
        // libcoap keeps it for the rest (rACT_SZX = rDES_SZX).
        int responseSize = responses[last].Block2?.Size ?? 0;
        Assert.True(responses[last].Block2 is { Number: 0, More: true }, $"Step 7: Block2 NUM=0, M=1 with the 2.04.{Environment.NewLine}{result.Describe()}");
        AssertBlock2Sequence(responses.Skip(last).Select(m => (m.Code, m.Block2)).ToArray(), responseSize, body.Length, "2.04", result.Describe());
        byte[] received = await File.ReadAllBytesAsync(output);
        Assert.True(body.AsSpan().SequenceEqual(received), "Step 14: the client has the whole response (the echoed body).");
    }

    [Fact]
    [Trait("Needs", "block-wise")]
    public async Task TD_COAP_BLOCK_05_LargePostTwoWay_Raw()
    {
        byte[] body = Body("two-way-raw", 3000);
        await using var raw = _fixture.CreateRawClient();
        var post = CoapMessage.CreateRequest(CoapCode.Post, "/large-post").WithContentFormat(CoapContentFormat.TextPlain);

        var responses = await SendBlock1Async(raw, post, body, 512);

        AssertBlock1Sequence(responses.Select(r => (r.Code.ToString(), r.Block1)).ToArray(), 512, body.Length, "2.04", string.Join(Environment.NewLine, responses));
        var final = responses[^1];
        Assert.True(final.Block2 is { Number: 0, More: true } rDes && final.Payload.Length == rDes.Size,
            $"Step 7: the 2.04 also carries Block2 NUM=0, M=1 and a full first block: {final}");

        // Steps 8-13: the client retrieves the rest with a smaller block size than the server's (rACT_SZX < rDES_SZX), starting at
        // NUM = 2^(rDES_SZX - rACT_SZX), with the POST's options but no Block1 and no payload.
        int rDesSize = final.Block2!.Value.Size;
        const int rActSize = 256;
        var received = new List<byte>(final.Payload.ToArray());
        var continuations = new List<CoapMessage>();
        for (int num = rDesSize / rActSize; ; num++)
        {
            var response = await raw.RequestAsync(post.WithBlock2(new BlockOption(num, false, BlockOption.SizeToExponent(rActSize))));
            continuations.Add(response);
            Assert.True(response.Code == CoapCode.Changed && response.Block2 is { } b && b.Number == num && b.Size == rActSize,
                $"Steps 9/11/13: 2.04 with Block2 NUM={num}, SZX={rActSize}: {response}");
            received.AddRange(response.Payload.ToArray());
            if (!response.Block2!.Value.More)
            {
                break;
            }

            Assert.Equal(rActSize, response.Payload.Length);
        }

        Assert.True(continuations[^1].Payload.Length is > 0 and <= rActSize, "Step 13: the last block is at most one block long.");
        Assert.True(body.AsSpan().SequenceEqual(received.ToArray()), "The response reassembles to the posted body.");
    }

    // ---- helpers --------------------------------------------------------------------------------------------------------------------

    /// <summary>Sends <paramref name="body"/> in Block1 blocks of <paramref name="size"/> bytes, following a smaller size if the server asks for one.</summary>
    private static async Task<List<CoapMessage>> SendBlock1Async(BolRawClient raw, CoapMessage request, byte[] body, int size)
    {
        var responses = new List<CoapMessage>();
        int offset = 0;
        while (true)
        {
            int count = Math.Min(size, body.Length - offset);
            bool more = offset + count < body.Length;
            var block = new BlockOption(offset / size, more, BlockOption.SizeToExponent(size));
            var response = await raw.RequestAsync(request.WithBlock1(block).WithPayload(body.AsMemory(offset, count)));
            responses.Add(response);
            if (!more || response.Code != CoapCode.Continue)
            {
                return responses;
            }

            // §2.3: a smaller SZX in the answer sets the size of the blocks that follow (the TD's "if the server decreased the SZX").
            offset += count;
            size = Math.Min(size, response.Block1?.Size ?? size);
        }
    }

    /// <summary>
    /// The verdict of a Block1 upload: 2.31 Continue with Block1 NUM=i, M=1, SZX=<paramref name="size"/> for every block but the
    /// last, then <paramref name="finalCode"/> with Block1 NUM=n, M=0.
    /// </summary>
    private static void AssertBlock1Sequence(IReadOnlyList<(string Code, BlockOption? Block1)> responses, int size, int length, string finalCode, string context)
    {
        int blocks = (length + size - 1) / size;
        Assert.True(responses.Count == blocks, $"{blocks} responses for {blocks} Block1 blocks, got {responses.Count}.{Environment.NewLine}{context}");
        for (int i = 0; i < blocks; i++)
        {
            bool last = i == blocks - 1;
            var (code, block1) = responses[i];
            Assert.True(code == (last ? finalCode : "2.31") && block1 is { } b && b.Number == i && b.More == !last && b.Size == size,
                $"Response {i}: expected {(last ? finalCode : "2.31")} with Block1 {i}/{(last ? 0 : 1)}/{size}, got {code} {block1}.{Environment.NewLine}{context}");
        }
    }

    /// <summary>The verdict of a Block2 download: <paramref name="code"/> with Block2 NUM=i, SZX=<paramref name="size"/>, M=1 but in the last.</summary>
    private static void AssertBlock2Sequence(IReadOnlyList<(string Code, BlockOption? Block2)> responses, int size, int length, string code, string context)
    {
        int blocks = (length + size - 1) / size;
        Assert.True(responses.Count == blocks, $"{blocks} blocks of {size} bytes for {length} bytes, got {responses.Count} responses.{Environment.NewLine}{context}");
        for (int i = 0; i < blocks; i++)
        {
            bool last = i == blocks - 1;
            var (actual, block2) = responses[i];
            Assert.True(actual == code && block2 is { } b && b.Number == i && b.More == !last && b.Size == size,
                $"Block {i}: expected {code} with Block2 {i}/{(last ? 0 : 1)}/{size}, got {actual} {block2}.{Environment.NewLine}{context}");
        }
    }

    /// <summary>Every block but the last carries exactly 2^(SZX+4) bytes, the last at most that (and at least one).</summary>
    private static void AssertPayloadSizes(IReadOnlyList<CoapMessage> responses, int size)
    {
        for (int i = 0; i < responses.Count; i++)
        {
            int length = responses[i].Payload.Length;
            Assert.True(i < responses.Count - 1 ? length == size : length > 0 && length <= size, $"Block {i} carries {length} bytes (block size {size}).");
        }
    }

    /// <summary>GETs <paramref name="path"/> with libcoap and checks that it returns <paramref name="expected"/>.</summary>
    private async Task AssertStoredAsync(string path, byte[] expected)
    {
        string output = Path.Combine(_fixture.WorkingDirectory, $"get-{Guid.NewGuid():N}.out");
        ProcessResult result = await Interop.LibCoap.RunClientAsync(30, "-m", "get", "-o", output, _fixture.Uri(path));
        Assert.True(result.ExitCode == 0 && File.Exists(output), result.Describe());
        byte[] received = await File.ReadAllBytesAsync(output);
        Assert.True(expected.AsSpan().SequenceEqual(received), $"GET {path} returns the {expected.Length} bytes sent block-wise (got {received.Length}).");
    }

    private async Task<string> WriteAsync(byte[] body)
    {
        string file = Path.Combine(_fixture.WorkingDirectory, $"body-{Guid.NewGuid():N}.txt");
        await File.WriteAllBytesAsync(file, body);
        return file;
    }

    /// <summary>Numbered text lines naming <paramref name="label"/>, <paramref name="length"/> bytes: misplaced blocks show.</summary>
    private static byte[] Body(string label, int length)
    {
        var text = new StringBuilder(length + 64);
        for (int line = 0; text.Length < length; line++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{label} line {line:D4}\n");
        }

        return Encoding.ASCII.GetBytes(text.ToString(0, length));
    }
}
