/*
 * Virtio 1.x over PCI (the "modern" interface) and split virtqueues: what
 * every virtio driver (virtio_net.c; virtio-blk later) shares.
 */
#ifndef EXO_KERN_VIRTIO_H
#define EXO_KERN_VIRTIO_H

#include <inc/types.h>
#include <kern/dev/pci.h>

#define VIRTIO_VENDOR 0x1af4

/* Feature bits common to every device type. */
#define VIRTIO_F_VERSION_1 (1UL << 32)

#define VIRTQ_MAX 128          /* entries a queue may have: its rings fit two pages */
#define VIRTIO_NO_VECTOR 0xffff

/* Descriptor flags. */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2   /* the device writes the buffer */
#define VIRTQ_DESC_F_INDIRECT 4 /* the buffer is a table of descriptors */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1 /* the driver polls: no interrupts, please */

/* Ring feature bits. */
#define VIRTIO_RING_F_INDIRECT_DESC (1UL << 28)

struct virtq_desc {
	uint64_t d_addr;
	uint32_t d_len;
	uint16_t d_flags;
	uint16_t d_next;
};

struct virtq_avail {
	uint16_t a_flags;
	uint16_t a_idx;
	uint16_t a_ring[];
};

struct virtq_used_elem {
	uint32_t u_id;
	uint32_t u_len;
};

struct virtq_used {
	uint16_t u_flags;
	uint16_t u_idx;
	struct virtq_used_elem u_ring[];
};

/* One split virtqueue, driver side. */
struct virtq {
	uint16_t vq_index;             /* queue number on the device */
	uint16_t vq_size;              /* entries, a power of two */
	volatile struct virtq_desc *vq_desc;
	volatile struct virtq_avail *vq_avail;
	volatile struct virtq_used *vq_used;
	uint16_t vq_avail_idx;         /* entries made available so far */
	uint16_t vq_used_idx;          /* used entries taken back so far */
	volatile uint16_t *vq_notify;  /* write vq_index here to kick */
};

/* A virtio device's PCI transport, once its capabilities are found. */
struct virtio_dev {
	struct pci_dev *vd_pci;
	volatile struct virtio_common *vd_common;
	physaddr_t vd_common_pa;         /* where it is, for the boot log */
	volatile uint8_t *vd_devcfg;   /* the device-type-specific configuration */
	uint64_t vd_devcfg_len;
	volatile uint8_t *vd_notify;   /* notification area */
	uint64_t vd_notify_len;
	uint32_t vd_notify_mult;
	struct pci_msix vd_msix;
};

/* Find d's virtio capabilities and MSI-X table, reset the device and say
 * a driver is here (ACKNOWLEDGE | DRIVER). 0 or -E_NOT_FOUND (not a modern
 * virtio device, or no MSI-X) / -E_INVAL (capabilities out of range). */
int virtio_attach(struct virtio_dev *vd, struct pci_dev *d);
/* Accept the offered features among wanted; fails (-E_NOT_FOUND) unless
 * every one of required is offered, or if the device refuses FEATURES_OK.
 * *got is what was agreed. */
/* The feature bits the device offers. */
uint64_t virtio_offered(struct virtio_dev *vd);
int virtio_negotiate(struct virtio_dev *vd, uint64_t wanted, uint64_t required, uint64_t *got);
/* Set up queue index with up to size entries (rings in fresh kernel pages),
 * interrupts on MSI-X entry vector. 0, -E_NOT_FOUND (no such queue), or
 * -E_NO_MEM. */
int virtio_queue_init(struct virtio_dev *vd, struct virtq *q, uint16_t index, uint16_t size,
		      uint16_t vector);
/* Route config changes to MSI-X entry vector (VIRTIO_NO_VECTOR: none). */
void virtio_config_vector(struct virtio_dev *vd, uint16_t vector);
/* The driver is ready: the device may start (DRIVER_OK). */
void virtio_ready(struct virtio_dev *vd);
/* Give up on the device (FAILED). */
void virtio_fail(struct virtio_dev *vd);
/* Read len bytes of the device configuration at off, consistently (the
 * generation counter is rechecked). false if out of range. */
bool virtio_config_read(struct virtio_dev *vd, uint32_t off, void *dst, uint32_t len);

/* Fill descriptor i. */
void virtq_desc_set(struct virtq *q, uint16_t i, physaddr_t pa, uint32_t len, uint16_t flags);
/* Make the chain headed by descriptor i available (no kick). */
void virtq_push(struct virtq *q, uint16_t i);
/* Tell the device new buffers are available. */
void virtq_kick(struct virtq *q);
/* Ask the device for an interrupt per used buffer (on) or for none
 * (VIRTQ_AVAIL_F_NO_INTERRUPT: a hint the device may ignore). */
void virtq_interrupts(struct virtq *q, bool on);
/* Take back the next used buffer: its head descriptor and the bytes the
 * device wrote. false if none. A head out of range is skipped and logged. */
bool virtq_pop(struct virtq *q, uint16_t *id, uint32_t *len);

#endif
