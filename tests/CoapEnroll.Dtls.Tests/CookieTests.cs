using System.Net;
using System.Security.Cryptography;

namespace CoapEnroll.Dtls.Tests;

public class CookieTests
{
    private sealed class ManualTime : TimeProvider
    {
        public long Ticks { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Ticks;

        public void Advance(TimeSpan by) => Ticks += by.Ticks;
    }

    private static byte[] Hello(byte[] random, byte[] cookie, CipherSuite suite = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8) => new ClientHello
    {
        Random = random,
        Cookie = cookie,
        CipherSuites = [suite],
        Extensions = [TlsExtensions.ExtendedMasterSecret()],
    }.Encode();

    [Fact]
    public void Cookie_BindsAddressAndHelloParameters()
    {
        using var protector = new HelloCookieProtector(TimeSpan.FromMinutes(1));
        var client = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 5684);
        byte[] random = RandomNumberGenerator.GetBytes(32);
        byte[] cookie = protector.CreateCookie(client, Hello(random, []));
        Assert.Equal(32, cookie.Length);
        // The cookie field itself is excluded: ClientHello2 (with cookie) yields the same value.
        Assert.Equal(cookie, protector.CreateCookie(client, Hello(random, cookie)));
        Assert.True(protector.Verify(client, Hello(random, cookie)));
        Assert.True(protector.Verify(new IPEndPoint(IPAddress.Parse("::ffff:192.0.2.1"), 5684), Hello(random, cookie)));

        Assert.False(protector.Verify(new IPEndPoint(IPAddress.Parse("192.0.2.2"), 5684), Hello(random, cookie)));
        Assert.False(protector.Verify(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 5685), Hello(random, cookie)));
        Assert.False(protector.Verify(client, Hello(RandomNumberGenerator.GetBytes(32), cookie)));
        Assert.False(protector.Verify(client, Hello(random, cookie, CipherSuite.TLS_PSK_WITH_AES_128_CCM_8)));
        Assert.False(protector.Verify(client, Hello(random, [])));
        for (int i = 0; i < cookie.Length; i++)
        {
            byte[] tampered = (byte[])cookie.Clone();
            tampered[i] ^= 0x80;
            Assert.False(protector.Verify(client, Hello(random, tampered)));
        }

        Assert.False(protector.Verify(client, Hello(random, cookie[..31])));
        Assert.False(protector.Verify(client, [1, 2, 3]));
        Assert.False(protector.TryCreateCookie(client, [1, 2, 3], new byte[32]));

        using var other = new HelloCookieProtector(TimeSpan.FromMinutes(1));
        Assert.False(other.Verify(client, Hello(random, cookie)));
    }

    [Fact]
    public void Cookie_Rotation_AcceptsPreviousSecretOnly()
    {
        var time = new ManualTime();
        using var protector = new HelloCookieProtector(TimeSpan.FromSeconds(30), time);
        var client = new IPEndPoint(IPAddress.IPv6Loopback, 1);
        byte[] random = RandomNumberGenerator.GetBytes(32);
        byte[] cookie = protector.CreateCookie(client, Hello(random, []));
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.True(protector.Verify(client, Hello(random, cookie)));   // previous secret
        byte[] fresh = protector.CreateCookie(client, Hello(random, []));
        Assert.NotEqual(cookie, fresh);
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.False(protector.Verify(client, Hello(random, cookie)));  // two rotations old
        Assert.True(protector.Verify(client, Hello(random, fresh)));
        protector.Rotate();
        protector.Rotate();
        Assert.False(protector.Verify(client, Hello(random, fresh)));
    }
}
