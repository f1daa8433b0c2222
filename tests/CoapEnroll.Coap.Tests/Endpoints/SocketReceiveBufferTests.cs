using System.Net;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap.Tests.Endpoints;

/// <summary>Both UDP channels ask the system for the receive buffer they are given, and report what it granted.</summary>
public class SocketReceiveBufferTests
{
    private const int Asked = 1024 * 1024;

    [Fact]
    public async Task Bind_WithReceiveBuffer_GetsWhatTheSystemGrants()
    {
        await using UdpDatagramChannel asyncChannel = UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), socketReceiveBufferBytes: Asked);
        await using DedicatedUdpDatagramChannel dedicated = DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), socketReceiveBufferBytes: Asked);
        await using UdpDatagramChannel systemDefault = UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        int expected = Expected(Asked);
        Assert.Equal(expected, asyncChannel.SocketReceiveBufferBytes);
        Assert.Equal(expected, dedicated.SocketReceiveBufferBytes);
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(int.Parse(File.ReadAllText("/proc/sys/net/core/rmem_default").Trim(), System.Globalization.CultureInfo.InvariantCulture),
                systemDefault.SocketReceiveBufferBytes);
        }
    }

    [Fact]
    public void Bind_NegativeReceiveBuffer_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), socketReceiveBufferBytes: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), socketReceiveBufferBytes: -1));
    }

    /// <summary>Linux grants min(asked, net.core.rmem_max) and reports it doubled (socket(7)); other systems report what was asked.</summary>
    private static int Expected(int asked)
    {
        if (!OperatingSystem.IsLinux())
        {
            return asked;
        }

        int max = int.Parse(File.ReadAllText("/proc/sys/net/core/rmem_max").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return 2 * Math.Min(asked, max);
    }
}
