"""Golden JT/T 808 frames from public decoders' test data: the bytes, and the values their
tests assert (facts, not code). Where a source asserts only some fields, the others are
read from the same bytes by the standard's layout and marked ``# read``.

Sources (as stored in the public corpus):

* SmallChi/JT808 ``src/JT808.Protocol.Test/MessageBody/JT808_0x0200Test.cs`` (Demo2, Test5),
  ``JT808_0x0704Test.cs`` (Test2), ``JT808_0x8001Test.cs``, ``JT808_0x8100Test.cs``,
  ``JT808_0x8003Test.cs``: bodies and frames with every field asserted; times are GMT+8.
* cuteLittleDevil/go-jt808 ``protocol/model/parse_test.go``: 2013 and 2019 authentication,
  heartbeat, 2019 registration, a 0x0200 and a 0x0704 (whose test data swaps latitude and
  longitude: 119.55° "latitude", which a gateway must pass on for the bridge to refuse).
* traccar/traccar ``src/test/java/org/traccar/protocol/Jt808ProtocolDecoderTest.java``: a
  2019 ``0x0704`` and a 2013 blind-area ``0x0704`` (Traccar asserts satellites = 14 for both).
"""

from __future__ import annotations

from datetime import UTC, datetime


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# SmallChi Demo2: serial 126 is escaped (00 7D 02), and so is the checksum 7D (7D 01).
SMALLCHI_0200 = hexbytes("7E 02 00 00 26 12 34 56 78 90 12 00 7D 02 00 00 00 01 00 00 00 02 00 BA 7F 0E 07 E4 F1 1C"
                         " 00 28 00 3C 00 00 18 10 15 10 10 10 01 04 00 00 00 64 02 02 00 7D 01 13 7E")
SMALLCHI_0200_EXPECTED = dict(msg_id=0x0200, phone="123456789012", serial=126, body_length=38, alarm=1, status=2,
                              lat=12.222222, lon=132.444444, altitude_m=40, speed_kmh=6.0, direction=0,
                              ts=datetime(2018, 10, 15, 2, 10, 10, tzinfo=UTC),  # 2018-10-15 10:10:10 GMT+8
                              mileage_km=10.0, oil_item=125)

SMALLCHI_0200_TEST5 = hexbytes("7E 02 00 00 26 11 22 33 44 55 66 22 B8 00 00 00 01 00 00 00 02 00 BA 7F 0E 07 E4 F1 1C"
                               " 00 28 00 3C 00 00 18 07 15 10 10 10 01 04 00 00 00 64 02 02 00 37 57 7E")

SMALLCHI_0704 = hexbytes("7E 07 04 00 53 11 22 33 44 55 66 22 B8 00 02 00 00 26 00 00 00 01 00 00 00 02 00 BA 7F 0E"
                         " 07 E4 F1 1C 00 28 00 3C 00 00 18 07 15 10 10 10 01 04 00 00 00 64 02 02 00 37 00 26 00 00"
                         " 00 02 00 00 00 01 00 CB 73 55 07 E6 A3 23 00 29 00 36 00 78 18 07 15 10 10 30 01 04 00 00"
                         " 00 60 02 02 00 42 D4 7E")
SMALLCHI_0704_EXPECTED = [  # the second item's status 1 has bit 1 clear: no fix
    dict(alarm=1, status=2, lat=12.222222, lon=132.444444, speed_kmh=6.0, direction=0, mileage_km=10.0,
         ts=datetime(2018, 7, 15, 2, 10, 10, tzinfo=UTC)),
    dict(alarm=2, status=1, lat=13.333333, lon=132.555555, speed_kmh=5.4, direction=120, mileage_km=9.6,
         ts=datetime(2018, 7, 15, 2, 10, 30, tzinfo=UTC)),
]

# SmallChi platform replies (the encoder must produce exactly these bytes)
SMALLCHI_8001 = hexbytes("7E80010005012345678900000A0064020000617E")  # phone 012345678900, serial 10: ack 100 of 0x0200
SMALLCHI_8100_OK = hexbytes("7E81000009012345678900000A006400313233343536687E")  # ack 100, result 0, code "123456"
SMALLCHI_8100_UNKNOWN = hexbytes("7E81000003012345678900000A006404617E")  # ack 100, result 4 (no such terminal)
SMALLCHI_8003_BODY = hexbytes("04D20201020203")  # 2013: original serial 1234, 2 packages: 0x0102, 0x0203

# go-jt808
GO_AUTH_2013 = hexbytes("7e0102000b01234567890100003137323939383431373338b57e")
GO_AUTH_2019 = hexbytes("7e0102402f010000000001729984173800000b3137323939383431373338313233343536373839303132333435"
                        "332e372e31350000000000000000000000000000227e")
GO_AUTH_CODE = b"17299841738"
GO_HEARTBEAT = hexbytes("7e0002000001234567890100008a7e")  # phone 012345678901, serial 0
GO_REGISTER_2019 = hexbytes("7e0100405301000000000172998417380000001f007363640000000000000000007777772e3830382e636f6d"
                            "000000000000000000000000000000000000003736353433323100000000000000000000000000000000000000"
                            "0000000001b2e241313233343b7e")
GO_0200 = hexbytes("7e0200001c0123456789010000000004000000080007203b7d0202633df70138000300632410012359591c7e")
GO_0200_EXPECTED = dict(alarm=1024, status=2048, lat=119.552894, lon=40.058359, altitude_m=312, speed_kmh=0.3,
                        direction=99, ts=datetime(2024, 10, 1, 15, 59, 59, tzinfo=UTC))  # 2024-10-01 23:59:59 GMT+8

# Traccar
TRACCAR_0704_2019 = hexbytes("7e0704402d0100000866496077582164881d0001000028000000000000000701a00192091f2a4700160000"
                             "000226050916422701040000258230010031010e507e")
TRACCAR_0704_2019_EXPECTED = dict(  # Traccar asserts satellites 14; the rest # read
    phone="00000866496077582164", terminal_id="866496077582164", serial=0x881D, protocol_version=1,
    status=7, lat=-27.263378, lon=153.037383, altitude_m=22, speed_kmh=0.0, direction=2,
    ts=datetime(2026, 5, 9, 8, 42, 27, tzinfo=UTC), mileage_km=960.2, signal=0, satellites=14)
TRACCAR_0704_BLIND = hexbytes("7e070400510144503762020002000101004c00040100000800030202301006f893e8001d0000009526081722"
                              "1812140400000000170200000104000036c9030200002504000000002a02000030011f31010eea04020c830"
                              "0ef0400000000037e")
TRACCAR_0704_BLIND_EXPECTED = dict(  # Traccar asserts satellites 14; the rest # read
    phone="014450376202", serial=2, kind=1, lat=33.697808, lon=116.954088, altitude_m=29, direction=149,
    ts=datetime(2026, 8, 17, 14, 18, 12, tzinfo=UTC), mileage_km=1402.5, signal=31, satellites=14)

GOLDEN_FRAMES = [SMALLCHI_0200, SMALLCHI_0200_TEST5, SMALLCHI_0704, GO_AUTH_2013, GO_AUTH_2019, GO_HEARTBEAT,
                 GO_REGISTER_2019, GO_0200, TRACCAR_0704_2019, TRACCAR_0704_BLIND]
