using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Cli.Tests.Interop;
using CoapEnroll.Cmp;
using CoapEnroll.Coap;
using CoapEnroll.Transport;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// Block-wise transfer of PKIMessages (RFC 9482 §2.4, RFC 7959 §2.5) cut short or out of order: the CoAP layer reassembles
/// before the CMP server sees anything, so an unfinished or broken transfer opens no CMP transaction, issues nothing and burns
/// no transactionID — the same message sent whole afterwards is answered normally.
/// </summary>
[Trait("Needs", "libcoap")]
public sealed class CmpBlockWiseTests : CmpTestBase
{
    private const int Szx64 = 2;

    [Fact]
    public async Task LibcoapTransferCutMidway_LeavesNoTransaction_AndTheSameIrWholeIsIssued()
    {
        await using var server = await CmpServerHost.StartAsync();
        var remote = new IPEndPoint(IPAddress.Loopback, server.CoapPort);
        byte[] ir = MacIr();
        string request = OpenSsl.File("ir.der");
        await File.WriteAllBytesAsync(request, ir);

        // libcoap sends the ir in 16-byte blocks through a relay that loses everything after the fifth datagram; libcoap
        // retransmits into the void until its -B limit ends it.
        await using (var relay = new CuttingUdpRelay(remote, forward: 5))
        {
            ProcessResult cut = await LibCoap.RunClientAsync(3, "-v", "7", "-b", "16", "-m", "post", "-t", "259", "-f", request, "-o", OpenSsl.File("cut.der"),
                $"coap://127.0.0.1:{relay.Port}/.well-known/cmp");
            Assert.True(relay.Forwarded == 5 && relay.Dropped > 0, $"forwarded {relay.Forwarded}, dropped {relay.Dropped}: " + cut.Describe());
            Assert.False(File.Exists(OpenSsl.File("cut.der")) && new FileInfo(OpenSsl.File("cut.der")).Length > 0, cut.Describe());
        }

        Assert.Equal(0, (await server.GetCmpAsync()).OpenTransactions);
        Assert.Empty(await server.CertificatesAsync());

        // The very same message, whole: the CMP server never saw the cut one, so its transactionID and nonce are fresh to it.
        ProcessResult whole = await LibCoap.RunClientAsync(20, "-v", "7", "-b", "16", "-m", "post", "-t", "259", "-f", request, "-o", OpenSsl.File("ip.der"),
            $"coap://127.0.0.1:{server.CoapPort}/.well-known/cmp");
        Assert.True(whole.ExitCode == 0 && File.Exists(OpenSsl.File("ip.der")), whole.Describe());
        AssertIssued(await File.ReadAllBytesAsync(OpenSsl.File("ip.der")));
        Assert.Single(await server.CertificatesAsync());
    }

    [Fact]
    public async Task GapOrUnstartedBlock1_Is408_NothingReachesCmp_AndTheNextWholeRequestIsAnswered()
    {
        await using var server = await CmpServerHost.StartAsync();
        var remote = new IPEndPoint(IPAddress.Loopback, server.CoapPort);
        byte[] ir = MacIr();
        Assert.True(ir.Length > 4 * 64, $"the ir ({ir.Length} bytes) should take more than four 64-byte blocks");
        await using var coap = new CoapClient(UdpDatagramChannel.BindEphemeralFor(remote));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Task<CoapMessage> Block(int number, byte[] tag) =>
            coap.SendAsync(BlockOf(ir, number, tag), remote, timeout.Token);

        // Blocks 0 and 1, then block 3: a gap (§2.5: 4.08 Request Entity Incomplete).
        byte[] first = [1];
        Assert.Equal(CoapCode.Continue, (await Block(0, first)).Code);
        Assert.Equal(CoapCode.Continue, (await Block(1, first)).Code);
        Assert.Equal(CoapCode.RequestEntityIncomplete, (await Block(3, first)).Code);

        // The last block of a transfer that never started (another Request-Tag): 4.08 too.
        int last = (ir.Length - 1) / 64;
        Assert.Equal(CoapCode.RequestEntityIncomplete, (await Block(last, [2])).Code);

        // Out of order: block 0, block 2 before block 1.
        byte[] third = [3];
        Assert.Equal(CoapCode.Continue, (await Block(0, third)).Code);
        Assert.Equal(CoapCode.RequestEntityIncomplete, (await Block(2, third)).Code);

        Assert.Equal(0, (await server.GetCmpAsync()).OpenTransactions);
        Assert.Empty(await server.CertificatesAsync());

        // The same ir as a whole block-wise request (the client numbers the blocks itself): issued, not a replay.
        await using var whole = new CoapClient(UdpDatagramChannel.BindEphemeralFor(remote), new CoapClientOptions { BlockSize = 64 });
        CoapMessage answer = await whole.SendAsync(CoapMessage.CreateRequest(CoapCode.Post, "/.well-known/cmp")
            .WithContentFormat(CoapContentFormat.PkixCmp).WithPayload(ir), remote, timeout.Token);
        Assert.Equal(CoapCode.Changed, answer.Code);
        AssertIssued(answer.Payload.ToArray());
        Assert.Single(await server.CertificatesAsync());
    }

    private static CoapMessage BlockOf(byte[] body, int number, byte[] requestTag)
    {
        int offset = number * 64;
        int length = Math.Min(64, body.Length - offset);
        bool more = offset + length < body.Length;
        return CoapMessage.CreateRequest(CoapCode.Post, "/.well-known/cmp")
            .WithContentFormat(CoapContentFormat.PkixCmp)
            .SetOption(new CoapOption(CoapOptionNumber.RequestTag, requestTag))
            .WithBlock1(new BlockOption(number, more, Szx64))
            .WithPayload(body.AsMemory(offset, length));
    }

    /// <summary>An ir of dev-1 (MAC-protected, implicit confirmation), as DER.</summary>
    private static byte[] MacIr()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        PkiHeader header = CmpRequests.Header(new X500DistinguishedName("CN=dev-1"), null, Encoding.UTF8.GetBytes("dev-1"), CmpRequests.NewId(), implicitConfirm: true);
        PkiMessage ir = CmpRequests.CertificateRequest(PkiBodyType.Ir, header, new X500DistinguishedName("CN=dev-1"), key);
        return PkiMessageCodec.Encode(CmpProtection.ProtectWithMac(ir, Encoding.UTF8.GetBytes(CmpServerHost.Dev1Secret), CmpMacParameters.PasswordBasedMac()));
    }

    private static void AssertIssued(byte[] der)
    {
        PkiMessage answer = PkiMessageCodec.Decode(der).Message ?? throw new Xunit.Sdk.XunitException("the answer is no PKIMessage");
        CertRepMessageBody ip = Assert.IsType<CertRepMessageBody>(answer.Body);
        CertResponse response = Assert.Single(ip.Responses);
        Assert.True(response.Status.Status == (int)PkiStatus.Accepted, string.Join("; ", response.Status.StatusString ?? []));
    }
}
