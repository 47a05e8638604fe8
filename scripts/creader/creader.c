/*
 * creader: the C baseline of scripts/bench.sh. It reads UDP datagrams with
 * a blocking recvmmsg(2) (MSG_WAITFORONE: it sleeps until one datagram is
 * queued, then takes whatever else is) and appends each, as a line, to a
 * file through stdio's buffer. Nothing else: no parsing, no timers, one
 * thread. What a receiver spends beyond this is its own cost.
 *
 *   creader ADDR PORT OUT [RCVBUF]
 *
 * SIGTERM or SIGINT flushes the file and exits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define SLOT 65536

static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: creader ADDR PORT OUT [RCVBUF]\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("creader: socket");
		return 1;
	}
	if (argc > 4) {
		int n = atoi(argv[4]);
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &n, sizeof n) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n, sizeof n);
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "creader: bad address %s\n", argv[1]);
		return 2;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		perror("creader: bind");
		return 1;
	}
	FILE *out = fopen(argv[3], "a");
	if (!out) {
		perror("creader: open");
		return 1;
	}
	static char buf[BATCH][SLOT];
	static char iobuf[1 << 16];
	setvbuf(out, iobuf, _IOFBF, sizeof iobuf);

	struct sigaction act = {.sa_handler = on_signal}; /* no SA_RESTART: recvmmsg returns EINTR */
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);

	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	while (!stop) {
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){.iov_base = buf[i], .iov_len = SLOT};
			msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
		}
		int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("creader: recvmmsg");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			unsigned len = msgs[i].msg_len;
			fwrite(buf[i], 1, len, out);
			if (len == 0 || buf[i][len - 1] != '\n')
				fputc('\n', out);
		}
	}
	if (fclose(out) != 0) {
		perror("creader: close");
		return 1;
	}
	return 0;
}
